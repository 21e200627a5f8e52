//! Planned hosts. In `--check`, a host that `add_host` made from a resource `--check` did not
//! create (a server) has "(known after apply)" as its address. It is never contacted: every
//! task that would run on it is reported as a change known after apply, the way a Terraform
//! plan reads, instead of the host being UNREACHABLE as in Ansible's check mode.

use serde_json::{Map, Value};

use timonel_modules::KNOWN_AFTER_APPLY;

use super::outcome::TaskOutcome;
use super::play_ctx::PlayCtx;
use crate::output::Status;

/// Whether `name` is a planned host, given its variables when `own` (the task's own host),
/// else looked up (a delegated host).
pub fn is_planned(p: &PlayCtx, name: &str, vars: &Map<String, Value>, own: bool) -> bool {
    if !p.shared.opts.check {
        return false;
    }
    let address = |v: &Map<String, Value>| {
        ["ansible_host", "ansible_ssh_host"]
            .iter()
            .filter_map(|k| v.get(*k).and_then(Value::as_str))
            .any(|a| a.contains(KNOWN_AFTER_APPLY))
    };
    if own {
        address(vars)
    } else {
        address(&super::vars::host_level(&p.shared, &p.pb_vars, name))
    }
}

/// What a task on a planned host reports: a change, with the reason.
pub fn outcome(host: &str, facts: bool) -> TaskOutcome {
    let mut r = Map::new();
    r.insert("changed".into(), Value::Bool(!facts));
    r.insert("planned".into(), Value::Bool(true));
    r.insert(
        "msg".into(),
        Value::String(format!(
            "{KNOWN_AFTER_APPLY}: {host} does not exist yet (an earlier task creates it)"
        )),
    );
    TaskOutcome::new(if facts { Status::Ok } else { Status::Changed }, r)
}
