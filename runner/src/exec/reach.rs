//! How a task reaches its host: delegation, become, environment, and the connection.

use std::sync::Arc;

use serde_json::{Map, Value};

use timonel_modules::{Become, ExecOptions};

use super::conditions::bool_of;
use super::play_ctx::PlayCtx;
use crate::playbook::Task;

fn var_str(vars: &Map<String, Value>, keys: &[&str]) -> Option<String> {
    keys.iter()
        .find_map(|k| vars.get(*k))
        .and_then(|v| match v {
            Value::String(s) if !s.contains("{{") => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        })
}

/// How a task reaches its host: connection, become, environment.
pub struct Reach {
    pub host_name: String,
    pub opts: ExecOptions,
}

pub fn reach(
    p: &PlayCtx,
    host: &str,
    t: &Task,
    vars: &Map<String, Value>,
    ctx: &minijinja::Value,
) -> Result<Reach, String> {
    let templar = &p.shared.templar;
    let delegate = match &t.inh.delegate_to {
        Some(d) => Some(
            templar
                .render_string(d, ctx)
                .map_err(|e| e.0)?
                .as_str()
                .unwrap_or_default()
                .to_string(),
        ),
        None => None,
    };
    let become_kw = bool_of(p, &t.inh.become_.become_, ctx)?;
    let become_var = vars
        .get("ansible_become")
        .and_then(timonel_modules::spec::to_bool);
    let become_on = become_var.or(become_kw).unwrap_or(p.shared.opts.become_);
    let opts_b = &p.shared.opts;
    let become_ = if become_on {
        let user = var_str(vars, &["ansible_become_user"])
            .or(t.inh.become_.user.clone())
            .or(opts_b.become_user.clone())
            .unwrap_or_else(|| "root".into());
        let user = templar
            .render_string(&user, ctx)
            .map_err(|e| e.0)?
            .as_str()
            .unwrap_or("root")
            .to_string();
        Some(Become {
            user,
            method: var_str(vars, &["ansible_become_method"])
                .or(t.inh.become_.method.clone())
                .or(opts_b.become_method.clone())
                .unwrap_or_else(|| "sudo".into()),
            password: var_str(vars, &["ansible_become_password", "ansible_become_pass"])
                .or(opts_b.become_password.clone()),
        })
    } else {
        None
    };
    // Ansible runs the command directly when the login user already is the become user
    // (a root login on a host without sudo works with `become: true`).
    let become_ = become_.filter(|b| {
        delegate.is_some() || login_user(p, host, vars).as_deref() != Some(b.user.as_str())
    });
    let env = super::environment::environment(templar, &t.inh.environment, ctx)?;
    Ok(Reach {
        host_name: delegate.unwrap_or_else(|| host.to_string()),
        opts: ExecOptions {
            become_,
            env,
            ..Default::default()
        },
    })
}

/// The user a task's host is logged in as, when Ansible knows it: the local user on a local
/// connection; on SSH the user configured by `ansible_user` or `-u` (not ~/.ssh/config,
/// which Ansible doesn't read either).
fn login_user(p: &PlayCtx, host: &str, vars: &Map<String, Value>) -> Option<String> {
    match timonel_modules::registry::short_name(&connection_kind(p, host, vars)) {
        "local" => local_user(),
        _ => var_str(vars, &["ansible_user", "ansible_ssh_user"]).or(p
            .shared
            .opts
            .connect
            .ssh
            .user
            .clone()),
    }
}

/// The connection plugin a host uses: `-c`, `ansible_connection`, else local for the
/// implicit localhost and ssh for any other.
fn connection_kind(p: &PlayCtx, host: &str, vars: &Map<String, Value>) -> String {
    p.shared
        .opts
        .connect
        .forced
        .clone()
        .or_else(|| var_str(vars, &["ansible_connection"]))
        .unwrap_or_else(|| {
            if implicit_localhost(p, host) {
                "local"
            } else {
                "ssh"
            }
            .into()
        })
}

/// The localhost Ansible adds when the inventory has none.
fn implicit_localhost(p: &PlayCtx, host: &str) -> bool {
    matches!(host, "localhost" | "127.0.0.1" | "::1")
        && !p
            .shared
            .inventory
            .read()
            .map(|i| i.hosts.contains_key(host))
            .unwrap_or(true)
}

/// The connection variables Ansible adds to a task's variables where the inventory has
/// none (PlayContext.update_vars): `ansible_host` (the host's name) and
/// `ansible_connection` (and the implicit localhost's `ansible_python_interpreter`), which
/// templates and `lookup('vars', ...)` then see.
pub fn connection_vars(p: &PlayCtx, host: &str, vars: &Map<String, Value>) -> Map<String, Value> {
    let address = var_str(vars, &["ansible_host", "ansible_ssh_host"]).unwrap_or(host.to_string());
    let kind = connection_kind(p, host, vars);
    // The implicit localhost's interpreter is the controller's, as Ansible sets it.
    let python = implicit_localhost(p, host).then(|| {
        (
            "ansible_python_interpreter",
            super::vars::controller_python().to_string(),
        )
    });
    [
        ("ansible_host", address.clone()),
        ("ansible_ssh_host", address),
        ("ansible_connection", kind),
    ]
    .into_iter()
    .chain(python)
    .filter(|(k, _)| !vars.contains_key(*k))
    .map(|(k, v)| (k.to_string(), Value::String(v)))
    .collect()
}

/// The user timonel runs as, found as Python's getpass.getuser() finds it.
fn local_user() -> Option<String> {
    ["LOGNAME", "USER", "LNAME", "USERNAME"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
        .or_else(|| {
            // SAFETY: getpwuid returns a pointer to static storage or null; the name is
            // copied out before any other call could overwrite it.
            unsafe {
                let pw = libc::getpwuid(libc::geteuid());
                if pw.is_null() {
                    return None;
                }
                Some(
                    std::ffi::CStr::from_ptr((*pw).pw_name)
                        .to_string_lossy()
                        .into_owned(),
                )
            }
        })
}

pub async fn connection(
    p: &PlayCtx,
    name: &str,
    vars: &Map<String, Value>,
    own: bool,
) -> Result<Arc<dyn timonel_modules::Connection>, String> {
    if let Some(c) = p.shared.conns.lock().map_err(|e| e.to_string())?.get(name) {
        return Ok(c.clone());
    }
    let in_inv = p
        .shared
        .inventory
        .read()
        .map(|i| i.hosts.contains_key(name))
        .unwrap_or(false);
    let hv = if own {
        vars.clone()
    } else {
        // A delegated host: its own variables, and the extra vars, which outrank everything
        // for every host (ansible_ssh_common_args given with -e, say).
        let mut v = super::vars::host_level(&p.shared, &p.pb_vars, name);
        crate::inventory::merge(&mut v, &p.shared.opts.extra_vars);
        v
    };
    let implicit = !in_inv && (name == "localhost" || name == "127.0.0.1" || name == "::1");
    let c = crate::connection::connect(name, &hv, implicit, &p.shared.opts.connect)
        .map_err(|e| e.to_string())?;
    p.shared
        .conns
        .lock()
        .map_err(|e| e.to_string())?
        .insert(name.to_string(), c.clone());
    Ok(c)
}
