//! Variables of a host for a task, layered in Ansible's precedence order (lowest first):
//! role defaults, inventory (group then host, see inventory::host_vars), facts, play vars,
//! vars_files, role vars, block and task vars, include_vars, set_fact/register, role params,
//! include params, extra vars; then the magic variables (inventory_hostname, group_names,
//! role_names, ...). The host lists
//! (`groups`, `ansible_play_hosts`, ...) and `hostvars` join in `context`, shared by all.

use std::collections::HashMap;
use std::sync::Arc;

use minijinja::value::{Enumerator, Object, ObjectRepr};
use minijinja::Value as JValue;
use serde_json::{Map, Value};

use super::play_ctx::PlayCtx;
use super::state::Shared;
use crate::inventory::{combine, merge, DirVars};
use crate::playbook::Inherited;
use crate::template::{mark_data, LazyVars, OMIT};

/// Inventory vars, facts and set_facts of a host: what `hostvars[host]` shows.
pub fn host_level(shared: &Shared, pb_vars: &DirVars, host: &str) -> Map<String, Value> {
    let mut v = shared
        .inventory
        .read()
        .map(|i| i.host_vars(host, pb_vars))
        .unwrap_or_default();
    let st = shared.host_state(host);
    inject_facts(&mut v, &st.facts);
    combine(&mut v, &st.included);
    combine(&mut v, &st.vars);
    mark_host_data(&mut v, &st);
    v.insert("inventory_hostname".into(), Value::String(host.to_string()));
    v.insert(
        "inventory_hostname_short".into(),
        Value::String(host.split('.').next().unwrap_or(host).to_string()),
    );
    let groups = shared
        .inventory
        .read()
        .map(|i| i.group_names(host))
        .unwrap_or_default();
    v.insert("group_names".into(), Value::from(groups));
    v
}

/// Marks what a host produced (facts, registered results, set_fact) as data, where the
/// final value is still that one (a later, trusted source may have set the name).
fn mark_host_data(v: &mut Map<String, Value>, st: &super::state::HostState) {
    let mut names: Vec<String> = st
        .data
        .iter()
        .filter(|n| v.get(*n) == st.vars.get(*n))
        .cloned()
        .collect();
    if !st.facts.is_empty() {
        names.push("ansible_facts".into());
        names.extend(
            st.facts
                .iter()
                .map(|(k, f)| (format!("ansible_{k}"), f))
                .filter(|(n, f)| v.get(n) == Some(*f))
                .map(|(n, _)| n),
        );
    }
    for n in names {
        mark_data(v, &n);
    }
}

fn inject_facts(v: &mut Map<String, Value>, facts: &Map<String, Value>) {
    if facts.is_empty() {
        return;
    }
    for (k, f) in facts {
        v.insert(format!("ansible_{k}"), f.clone());
    }
    v.insert("ansible_facts".into(), Value::Object(facts.clone()));
}

/// All variables for `host` running a task with keywords `inh`, plus `extra` (loop vars).
pub fn task_vars(
    p: &PlayCtx,
    host: &str,
    inh: &Inherited,
    extra: &Map<String, Value>,
) -> Map<String, Value> {
    let shared = &p.shared;
    let mut v = Map::new();
    let play_roles = p.public_roles();
    for r in &play_roles {
        combine(&mut v, &r.default_vars(false));
    }
    if let Some(r) = &inh.role {
        combine(&mut v, &r.default_vars(true));
    }
    combine(
        &mut v,
        &shared
            .inventory
            .read()
            .map(|i| i.host_vars(host, &p.pb_vars))
            .unwrap_or_default(),
    );
    let st = shared.host_state(host);
    inject_facts(&mut v, &st.facts);
    combine(&mut v, &p.play.vars);
    combine(&mut v, &p.vars_files);
    // The play's roles export their vars/ (and their dependencies') to the whole play.
    for r in &play_roles {
        combine(&mut v, &r.role_vars(false, true));
    }
    if let Some(r) = &inh.role {
        combine(&mut v, &r.role_vars(true, false));
    }
    combine(&mut v, &inh.vars);
    combine(&mut v, &st.included);
    combine(&mut v, &st.vars);
    if let Some(r) = &inh.role {
        combine(&mut v, &r.role_params());
    }
    combine(&mut v, &inh.include_params);
    if let Some(r) = &inh.role {
        v.insert("role_name".into(), Value::String(r.name.clone()));
        v.insert(
            "role_path".into(),
            Value::String(r.path.display().to_string()),
        );
    }
    combine(&mut v, &shared.opts.extra_vars);
    merge(&mut v, extra);
    mark_host_data(&mut v, &st);
    let magic = [
        ("inventory_hostname", Value::String(host.to_string())),
        (
            "inventory_hostname_short",
            Value::String(host.split('.').next().unwrap_or(host).to_string()),
        ),
        (
            "group_names",
            Value::from(
                shared
                    .inventory
                    .read()
                    .map(|i| i.group_names(host))
                    .unwrap_or_default(),
            ),
        ),
        ("ansible_play_name", Value::String(p.play.name.clone())),
        ("ansible_check_mode", Value::Bool(shared.opts.check)),
        ("ansible_diff_mode", Value::Bool(shared.opts.diff)),
        (
            "ansible_run_tags",
            Value::from(if shared.opts.tags.is_empty() {
                vec!["all".to_string()]
            } else {
                shared.opts.tags.clone()
            }),
        ),
        (
            "ansible_skip_tags",
            Value::from(shared.opts.skip_tags.clone()),
        ),
        (
            "ansible_version",
            serde_json::json!({"full": "2.19.0", "major": 2, "minor": 19, "revision": 0, "string": "2.19.0 (timonel)"}),
        ),
        (
            "timonel_version",
            Value::String(env!("CARGO_PKG_VERSION").into()),
        ),
        // Absolute, as Ansible's (os.path.abspath: links are not resolved).
        (
            "playbook_dir",
            Value::String(
                std::path::absolute(&p.play.dir)
                    .unwrap_or_else(|_| p.play.dir.clone())
                    .display()
                    .to_string(),
            ),
        ),
        ("inventory_dir", p.inventory_dir.clone()),
        ("omit", Value::String(OMIT.into())),
        (
            "ansible_playbook_python",
            Value::String(controller_python().to_string()),
        ),
    ];
    for (k, m) in magic {
        v.insert(k.to_string(), m);
    }
    for (k, m) in crate::playbook::role_vars::role_name_vars(&p.play.roles) {
        v.insert(k.to_string(), m);
    }
    if let Some(r) = &inh.role {
        v.insert("ansible_role_name".into(), Value::String(r.name.clone()));
    }
    v
}

/// `ansible_playbook_python`: Ansible's is the Python it runs on; timonel runs none, so it is
/// the controller's first `python3` on PATH (what a task delegated to localhost would run).
pub(crate) fn controller_python() -> &'static str {
    static PY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PY.get_or_init(|| {
        std::env::var_os("PATH")
            .iter()
            .flat_map(std::env::split_paths)
            .map(|d| d.join("python3"))
            .find(|p| p.is_file())
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "/usr/bin/python3".into())
    })
}

/// The Jinja context for a variable map, with `hostvars`, `vars` and the play's host lists
/// attached. The lists (`groups`, `ansible_play_hosts`, ...) are the play's shared values,
/// not copies: each is as long as the play has hosts, and every host's task holds a context.
pub fn context(p: &Arc<PlayCtx>, vars: Map<String, Value>) -> JValue {
    let vars = Arc::new(vars);
    let mut extra = HashMap::new();
    extra.insert(
        "hostvars".to_string(),
        JValue::from_object(HostVars { p: p.clone() }),
    );
    let active = p.active_var();
    let lists = [
        ("groups", p.groups.read().expect("groups lock").clone()),
        ("play_hosts", active.clone()),
        ("ansible_play_hosts", active),
        ("ansible_play_hosts_all", p.all_hosts_var.clone()),
        ("ansible_play_batch", p.batch_var.clone()),
    ];
    for (k, v) in lists {
        extra.insert(k.to_string(), v);
    }
    let lazy = LazyVars::new(vars.clone(), p.shared.templar.clone(), extra.clone());
    let mut with_vars = extra;
    with_vars.insert("vars".to_string(), lazy.value());
    LazyVars::new(vars, p.shared.templar.clone(), with_vars).value()
}

/// `hostvars`: every host's variables, built when first looked up.
#[derive(Debug)]
struct HostVars {
    p: Arc<PlayCtx>,
}

impl Object for HostVars {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &JValue) -> Option<JValue> {
        let host = key.as_str()?;
        let known = self
            .p
            .shared
            .inventory
            .read()
            .ok()?
            .hosts
            .contains_key(host)
            || self.p.all_hosts.iter().any(|h| h == host);
        if !known {
            return None;
        }
        let mut v = host_level(&self.p.shared, &self.p.pb_vars, host);
        merge(&mut v, &self.p.play.vars);
        Some(LazyVars::new(Arc::new(v), self.p.shared.templar.clone(), HashMap::new()).value())
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        let hosts: Vec<JValue> = self
            .p
            .shared
            .inventory
            .read()
            .map(|i| i.hosts.keys().map(|h| JValue::from(h.as_str())).collect())
            .unwrap_or_default();
        Enumerator::Values(hosts)
    }
}

/// Drops arguments whose value is `omit`.
pub fn strip_omit(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(_, x)| x.as_str() != Some(OMIT))
                .map(|(k, x)| (k, strip_omit(x)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(
            a.into_iter()
                .filter(|x| x.as_str() != Some(OMIT))
                .map(strip_omit)
                .collect(),
        ),
        other => other,
    }
}
