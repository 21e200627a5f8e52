//! Results that change the inventory (add_host, group_by), applied as the task ends so the
//! next tasks and plays see the hosts and groups.

use serde_json::{Map, Value};

use super::play_ctx::PlayCtx;

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Applies the result's inventory change, if it has one; true when the inventory changed.
pub fn apply(p: &PlayCtx, host: &str, result: &Map<String, Value>) -> bool {
    // Every task result passes here: only these two take the inventory's write lock.
    if !result.contains_key("add_host") && !result.contains_key("add_group") {
        return false;
    }
    let mut inv = p.shared.inventory.write().expect("inventory lock");
    let changed = if let Some(a) = result.get("add_host") {
        let name = a
            .get("host_name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let vars = a
            .get("host_vars")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        inv.add_run_host(name, &strings(a.get("groups")), &vars)
    } else if let Some(g) = result.get("add_group") {
        let name = g
            .get("group_name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        inv.group_by(host, name, &strings(g.get("parent_groups")))
    } else {
        return false;
    };
    if changed {
        // The rest of this play sees the new hosts in `groups` too, as in Ansible.
        *p.groups.write().expect("groups lock") = super::play_ctx::groups_var(&inv);
    }
    changed
}
