//! The facts playbooks branch on, collected in one round trip with POSIX tools.

use std::sync::Arc;

use serde_json::{json, Map, Value};
use timonel_modules::{Connection, ExecOptions, ModResult, ModuleError};

use super::outcome::TaskOutcome;
use super::play_ctx::PlayCtx;
use super::reach::connection;
use super::vars::task_vars;
use crate::output::Status;

const SCRIPT: &str = r#"
echo "hostname=$(hostname 2>/dev/null || uname -n)"
echo "fqdn=$(hostname -f 2>/dev/null || hostname 2>/dev/null || uname -n)"
echo "system=$(uname -s)"
echo "kernel=$(uname -r)"
echo "machine=$(uname -m)"
echo "nproc=$(nproc 2>/dev/null || echo 1)"
echo "mem=$(awk '/MemTotal/ {print $2}' /proc/meminfo 2>/dev/null)"
echo "memfree=$(awk '/MemAvailable/ {print $2}' /proc/meminfo 2>/dev/null)"
echo "swap=$(awk '/SwapTotal/ {print $2}' /proc/meminfo 2>/dev/null)"
echo "swapfree=$(awk '/SwapFree/ {print $2}' /proc/meminfo 2>/dev/null)"
echo "user=$(id -un)"
echo "uid=$(id -u)"
echo "gid=$(id -g)"
echo "home=$HOME"
echo "ips=$(hostname -I 2>/dev/null)"
echo "ifaces=$(ls /sys/class/net 2>/dev/null | tr '\n' ' ')"
# Route lookups only: nothing is sent.
echo "route4=$(ip -4 route get 1.1.1.1 2>/dev/null | head -1)"
echo "route6=$(ip -6 route get 2606:4700::1111 2>/dev/null | head -1)"
echo "virt=$( if [ -f /.dockerenv ]; then echo docker; elif grep -qa container= /proc/1/environ 2>/dev/null; then echo container; else echo; fi)"
echo "epoch=$(date +%s)"
# As Ansible: systemd where it manages the host, else PID 1's name (a container's init).
echo "svcmgr=$( if [ -d /run/systemd/system ]; then echo systemd; else cat /proc/1/comm 2>/dev/null; fi)"
if [ -r /etc/os-release ]; then sed 's/^/os_/' /etc/os-release; fi
"#;

/// Ansible's `ansible_python` facts, from the interpreter `$py` names (the host's
/// `ansible_python_interpreter`, else the first python3 on its PATH); nothing if it has none.
const PYTHON_SCRIPT: &str = r#"
[ -n "$py" ] || py=$(command -v python3 || command -v python)
[ -n "$py" ] && "$py" -S -c 'import sys; v = sys.version_info; print("pyexe=" + sys.executable); print("pyver=%d %d %d %s %d" % tuple(v[:5]))' 2>/dev/null
"#;

fn os_family(id: &str, like: &str) -> &'static str {
    let all = format!("{id} {like}");
    if all.contains("debian") || all.contains("ubuntu") {
        "Debian"
    } else if all.contains("rhel") || all.contains("fedora") || all.contains("centos") {
        "RedHat"
    } else if all.contains("suse") {
        "Suse"
    } else if all.contains("arch") {
        "Archlinux"
    } else if all.contains("alpine") {
        "Alpine"
    } else {
        "Linux"
    }
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// `ansible_python` and `ansible_python_version` from the script's `pyexe`/`pyver` lines.
fn python_facts(exe: &str, ver: &str) -> Option<Value> {
    let f: Vec<&str> = ver.split_whitespace().collect();
    let [major, minor, micro, level, serial] = f.as_slice() else {
        return None;
    };
    let n = |s: &str| s.parse::<u64>().ok();
    let (major, minor, micro, serial) = (n(major)?, n(minor)?, n(micro)?, n(serial)?);
    Some(json!({
        "python": {
            "executable": exe,
            "has_sslcontext": true,
            "type": "cpython",
            "version": {"major": major, "minor": minor, "micro": micro,
                        "releaselevel": level, "serial": serial},
            "version_info": [major, minor, micro, level, serial],
        },
        "python_version": format!("{major}.{minor}.{micro}"),
    }))
}

/// The facts of the host `conn` reaches, gathered under the play's `environment` (which
/// `ansible_env` then shows); `python` is its configured interpreter, if any.
pub async fn gather(
    conn: &dyn Connection,
    env: Vec<(String, String)>,
    python: Option<&str>,
) -> ModResult<Map<String, Value>> {
    let opts = ExecOptions {
        env,
        ..Default::default()
    };
    let conn_err = |e| match e {
        timonel_modules::ConnError::Unreachable(m) => ModuleError::Unreachable(m),
        timonel_modules::ConnError::Failed(m) => ModuleError::Failed(m),
    };
    let script = format!(
        "{SCRIPT}py={}\n{PYTHON_SCRIPT}\n{}",
        timonel_modules::connection::sh_quote(python.unwrap_or("")),
        super::local_facts::SCRIPT
    );
    let out = conn.exec(&script, &opts).await.map_err(conn_err)?;
    // NUL-separated: a value may hold newlines.
    let env_out = conn.exec("env -0", &opts).await.map_err(conn_err)?;
    let env: Map<String, Value> = env_out
        .stdout_str()
        .split('\0')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
        .collect();
    let text = out.stdout_str();
    let mut kv = std::collections::HashMap::new();
    for line in text.lines() {
        if super::local_facts::is_fact_line(line) {
            continue;
        }
        if let Some((k, v)) = line.split_once('=') {
            kv.insert(k.to_string(), v.trim_matches('"').to_string());
        }
    }
    let g = |k: &str| kv.get(k).cloned().unwrap_or_default();
    let id = g("os_ID");
    let version = g("os_VERSION_ID");
    let mem_kb: u64 = g("mem").parse().unwrap_or(0);
    let ips: Vec<String> = g("ips").split_whitespace().map(str::to_string).collect();
    let v4: Vec<&String> = ips.iter().filter(|i| i.contains('.')).collect();
    let v6: Vec<&String> = ips.iter().filter(|i| i.contains(':')).collect();
    let nproc: u64 = g("nproc").parse().unwrap_or(1);
    // "1.1.1.1 via 172.17.0.1 dev eth0 src 172.17.0.2 uid 0" -> address, interface, gateway.
    let route = |r: &str| -> serde_json::Value {
        let w: Vec<&str> = r.split_whitespace().collect();
        let after = |k: &str| {
            w.iter()
                .position(|x| *x == k)
                .and_then(|i| w.get(i + 1))
                .map(|s| s.to_string())
        };
        match after("src") {
            Some(addr) => {
                json!({"address": addr, "interface": after("dev"), "gateway": after("via")})
            }
            None => json!({}),
        }
    };
    let default4 = match route(&g("route4")) {
        v if v.get("address").is_some() => v,
        _ => v4
            .first()
            .map(|a| json!({"address": a}))
            .unwrap_or(json!({})),
    };
    let default6 = match route(&g("route6")) {
        v if v.get("address").is_some() => v,
        _ => v6
            .first()
            .map(|a| json!({"address": a}))
            .unwrap_or(json!({})),
    };
    let interfaces: Vec<String> = g("ifaces").split_whitespace().map(str::to_string).collect();
    let facts = json!({
        "hostname": g("hostname").split('.').next().unwrap_or(""),
        "nodename": g("hostname"),
        "fqdn": g("fqdn"),
        "domain": g("fqdn").split_once('.').map(|x| x.1.to_string()).unwrap_or_default(),
        "system": g("system"),
        "kernel": g("kernel"),
        "architecture": g("machine"),
        "machine": g("machine"),
        "distribution": if id.is_empty() { g("system") } else { capitalize(&id) },
        "distribution_version": version,
        "distribution_major_version": version.split('.').next().unwrap_or(""),
        "distribution_release": g("os_VERSION_CODENAME"),
        "os_family": os_family(&id, &g("os_ID_LIKE")),
        "processor_count": nproc,
        "processor_vcpus": nproc,
        "processor_cores": nproc,
        "memtotal_mb": mem_kb / 1024,
        "memfree_mb": g("memfree").parse::<u64>().unwrap_or(0) / 1024,
        "swaptotal_mb": g("swap").parse::<u64>().unwrap_or(0) / 1024,
        "swapfree_mb": g("swapfree").parse::<u64>().unwrap_or(0) / 1024,
        "user_id": g("user"),
        "user_uid": g("uid").parse::<u64>().unwrap_or(0),
        "user_gid": g("gid").parse::<u64>().unwrap_or(0),
        "user_dir": g("home"),
        "all_ipv4_addresses": v4,
        "all_ipv6_addresses": v6,
        "default_ipv4": default4,
        "default_ipv6": default6,
        "interfaces": interfaces,
        "virtualization_type": g("virt"),
        "virtualization_role": if g("virt").is_empty() { "" } else { "guest" },
        "date_time": {"epoch": g("epoch")},
        "service_mgr": match g("svcmgr") {
            m if m.is_empty() => "service".to_string(),
            m => m,
        },
        "env": env,
    });
    let mut facts = facts.as_object().cloned().unwrap_or_default();
    if let Some(Value::Object(py)) = python_facts(&g("pyexe"), &g("pyver")) {
        facts.extend(py);
    }
    facts.insert(
        "local".into(),
        Value::Object(super::local_facts::parse(&text)),
    );
    Ok(facts)
}

/// Whether a play gathers facts on `host` before its tasks: its `gather_facts`, or when it
/// doesn't say, ANSIBLE_GATHERING: `implicit` (the default) gathers, `explicit` doesn't,
/// `smart` gathers unless this run already did on the host. With `smart` an explicit
/// `gather_facts: true` doesn't gather again either, as in Ansible.
pub fn play_gathers(p: &PlayCtx, host: &str) -> bool {
    let mode = std::env::var("ANSIBLE_GATHERING").unwrap_or_default();
    let implied = p.play.gather_facts != Some(false);
    match mode.trim().to_ascii_lowercase().as_str() {
        "explicit" => p.play.gather_facts == Some(true),
        "smart" => implied && !p.shared.host_state(host).gathered,
        _ => implied,
    }
}

/// The setup / gather_facts task: the facts of `from` (the host itself, or the one the task
/// is delegated to) become the host's. The result carries them as `ansible_*`, as Ansible's
/// setup returns them.
pub async fn gather_facts(p: &Arc<PlayCtx>, host: &str, from: &str) -> TaskOutcome {
    let own = from == host;
    let vars = if own {
        task_vars(p, host, &p.play.inh, &Map::new())
    } else {
        super::vars::host_level(&p.shared, &p.pb_vars, from)
    };
    if super::planned::is_planned(p, from, &vars, own) {
        return super::planned::outcome(from, true);
    }
    let python = interpreter(p, &vars);
    let conn = match connection(p, from, &vars, own).await {
        Ok(c) => c,
        Err(e) => {
            return TaskOutcome::new(
                Status::Unreachable,
                json!({"changed": false, "unreachable": true, "msg": e})
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
            )
        }
    };
    let ctx = super::vars::context(p, vars);
    let env =
        match super::environment::environment(&p.shared.templar, &p.play.inh.environment, &ctx) {
            Ok(e) => e,
            Err(e) => return TaskOutcome::failed(format!("environment: {e}")),
        };
    let _permit = p.shared.forks.clone().acquire_owned().await;
    match gather(conn.as_ref(), env, python.as_deref()).await {
        Ok(facts) => {
            let prefixed = facts
                .iter()
                .map(|(k, v)| (format!("ansible_{k}"), v.clone()))
                .collect();
            p.shared.with_host(host, |s| {
                s.facts = facts;
                s.gathered = true;
            });
            let mut r = Map::new();
            r.insert("changed".into(), Value::Bool(false));
            r.insert("ansible_facts".into(), Value::Object(prefixed));
            TaskOutcome::new(Status::Ok, r)
        }
        Err(ModuleError::Unreachable(m)) => TaskOutcome::new(
            Status::Unreachable,
            json!({"changed": false, "unreachable": true, "msg": m})
                .as_object()
                .cloned()
                .unwrap_or_default(),
        ),
        Err(ModuleError::Failed(m)) => TaskOutcome::failed(format!("fact gathering failed: {m}")),
    }
}

/// The host's `ansible_python_interpreter`, templated; none (discovery) if it can't be.
fn interpreter(p: &Arc<PlayCtx>, vars: &Map<String, Value>) -> Option<String> {
    let raw = vars.get("ansible_python_interpreter")?;
    let ctx = super::vars::context(p, vars.clone());
    match p.shared.templar.render_value(raw, &ctx).ok()? {
        Value::String(s) if !s.trim().is_empty() && s != "auto" && !s.starts_with("auto_") => {
            Some(s)
        }
        _ => None,
    }
}
