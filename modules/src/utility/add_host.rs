//! `add_host` and `group_by`: they change the run's inventory, so a play that creates servers
//! can hand them to the next play. The module only says what to add; the engine applies it
//! (and reports `changed` when the inventory really changed), as Ansible's strategy does.

use async_trait::async_trait;
use serde_json::{json, Value};

use crate::spec::{arg, ArgType::*, ModuleSpec};
use crate::{Args, ModResult, Module, ModuleError, ModuleResult, Plan, PlanContext};

pub struct AddHost;
pub struct GroupBy;

static ADD_HOST: ModuleSpec = ModuleSpec::new(
    "add_host",
    "Add a host (and its groups and variables) to the inventory for the rest of the run; runs once per play, not per host.",
    &[
        arg("name", Str, "The host's name; `name:port` sets ansible_ssh_port too.")
            .required()
            .aliases(&["host", "hostname"]),
        arg("groups", List, "Groups to put the host in (a list or a comma-separated string).")
            .aliases(&["group", "groupname"]),
    ],
)
.open()
.bypass_host_loop();

static GROUP_BY: ModuleSpec = ModuleSpec::new(
    "group_by",
    "Put the current host in a group named by `key` (e.g. \"os_{{ ansible_distribution }}\") for the rest of the run.",
    &[
        arg("key", Str, "The group's name.").required(),
        arg("parents", List, "Groups the new group belongs to.").default("[\"all\"]"),
    ],
);

/// `groups: a,b` and `groups: [a, b]` alike.
fn names(args: &Args, key: &str) -> Vec<String> {
    args.strings(key)
        .iter()
        .flat_map(|s| s.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

#[async_trait]
impl Module for AddHost {
    fn spec(&self) -> &'static ModuleSpec {
        &ADD_HOST
    }

    async fn plan(&self, _: &PlanContext<'_>, args: &Args) -> ModResult<Plan> {
        let mut name = args.string("name").unwrap_or_default();
        let mut vars = args.0.clone();
        for k in ["name", "host", "hostname", "groups", "group", "groupname"] {
            vars.remove(k);
        }
        // "10.0.0.5:2222", as Ansible splits it (not for a bare IPv6 address), into
        // ansible_ssh_port as Ansible names it.
        if let Some((h, port)) = name.rsplit_once(':') {
            if !h.contains(':') && port.parse::<u16>().is_ok() {
                vars.insert(
                    "ansible_ssh_port".into(),
                    json!(port.parse::<u16>().unwrap_or(22)),
                );
                name = h.to_string();
            }
        }
        if name.trim().is_empty() {
            return Err(ModuleError::Failed("add_host: 'name' is empty".into()));
        }
        Ok(Plan::Done(ModuleResult::ok().with(
            "add_host",
            json!({"host_name": name, "groups": names(args, "groups"), "host_vars": Value::Object(vars)}),
        )))
    }
}

#[async_trait]
impl Module for GroupBy {
    fn spec(&self) -> &'static ModuleSpec {
        &GROUP_BY
    }

    async fn plan(&self, _: &PlanContext<'_>, args: &Args) -> ModResult<Plan> {
        let key = args.string("key").unwrap_or_default();
        if key.trim().is_empty() || key.contains(char::is_whitespace) {
            return Err(ModuleError::Failed(format!(
                "group_by: '{key}' cannot be a group name (empty or with spaces)"
            )));
        }
        Ok(Plan::Done(ModuleResult::ok().with(
            "add_group",
            json!({"group_name": key, "parent_groups": names(args, "parents")}),
        )))
    }
}
