//! service_facts: the host's services as the fact `ansible_facts.services`, as Ansible's
//! module reads them: systemd's units and unit files (name, state, status, source), or the
//! init scripts `service --status-all` lists on a host without systemd. Read-only.

use async_trait::async_trait;
use serde_json::{json, Map, Value};

use crate::spec::ModuleSpec;
use crate::{Args, ModResult, Module, ModuleResult, Plan, PlanContext};

pub struct ServiceFacts;

static SPEC: ModuleSpec = ModuleSpec::new(
    "service_facts",
    "The host's services as the fact ansible_facts.services (systemd units, or init scripts).",
    &[],
)
.also_known_as(&["ansible.builtin.service_facts"]);

/// Unit states that override what the active column says.
const BAD_STATES: [&str; 3] = ["not-found", "masked", "failed"];

/// `systemctl list-units --all --plain` lines: UNIT LOAD ACTIVE SUB DESCRIPTION.
fn from_units(out: &str, services: &mut Map<String, Value>) {
    for line in out.lines().filter(|l| l.contains(".service")) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 4 {
            continue;
        }
        let head = &f[..f.len() - 1];
        let status = BAD_STATES
            .iter()
            .find(|b| head.contains(b))
            .copied()
            .unwrap_or(f[2]);
        let state = if f[3] == "running" {
            "running"
        } else {
            "stopped"
        };
        services.insert(
            f[0].to_string(),
            json!({"name": f[0], "state": state, "status": status, "source": "systemd"}),
        );
    }
}

/// `systemctl list-unit-files` lines: UNIT FILE, STATE. Units not loaded are returned to
/// ask for their ActiveState.
fn from_unit_files(out: &str, services: &mut Map<String, Value>) -> Vec<String> {
    let mut unloaded = vec![];
    for line in out.lines().filter(|l| l.contains(".service")) {
        let mut f = line.split_whitespace();
        let (Some(name), Some(status)) = (f.next(), f.next()) else {
            continue;
        };
        match services.get_mut(name) {
            None => {
                services.insert(
                    name.to_string(),
                    json!({"name": name, "state": "unknown", "status": status, "source": "systemd"}),
                );
                unloaded.push(name.to_string());
            }
            Some(s) => {
                if !BAD_STATES.contains(&s["status"].as_str().unwrap_or("")) {
                    s["status"] = status.into();
                }
            }
        }
    }
    unloaded
}

/// `service --status-all` lines: ` [ + ]  cron`.
fn from_init_scripts(out: &str, services: &mut Map<String, Value>) {
    for line in out.lines() {
        let Some((mark, name)) = line
            .trim()
            .strip_prefix('[')
            .and_then(|l| l.split_once(']'))
        else {
            continue;
        };
        let name = name.trim();
        if name.is_empty() {
            continue;
        }
        let state = match mark.trim() {
            "+" => "running",
            "-" => "stopped",
            _ => "unknown",
        };
        services.insert(
            name.to_string(),
            json!({"name": name, "state": state, "source": "sysv"}),
        );
    }
}

#[async_trait]
impl Module for ServiceFacts {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn plan(&self, ctx: &PlanContext<'_>, _args: &Args) -> ModResult<Plan> {
        let mut services = Map::new();
        let systemd = ctx
            .host
            .exec("[ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1")
            .await?
            .rc
            == 0;
        if systemd {
            let units = ctx
                .host
                .exec("LC_ALL=C systemctl list-units --no-pager --type service --all --plain")
                .await?;
            from_units(&units.stdout_str(), &mut services);
            let files = ctx
                .host
                .exec("LC_ALL=C systemctl list-unit-files --no-pager --type service --all")
                .await?;
            let unloaded = from_unit_files(&files.stdout_str(), &mut services);
            // One `systemctl show` for all of them (Ansible asks one by one).
            for chunk in unloaded.chunks(200) {
                let names: Vec<String> = chunk
                    .iter()
                    .map(|n| crate::connection::sh_quote(n))
                    .collect();
                let out = ctx
                    .host
                    .exec(&format!(
                        "systemctl show {} --property=Id,ActiveState",
                        names.join(" ")
                    ))
                    .await?;
                let text = out.stdout_str();
                for block in text.split("\n\n") {
                    let get = |k: &str| {
                        block
                            .lines()
                            .find_map(|l| l.strip_prefix(k))
                            .map(str::to_string)
                    };
                    if let (Some(id), Some(state)) = (get("Id="), get("ActiveState=")) {
                        if let Some(s) = services.get_mut(&id) {
                            s["state"] = Value::String(state);
                        }
                    }
                }
            }
        } else {
            let out = ctx.host.exec("LC_ALL=C service --status-all 2>&1").await?;
            if out.rc == 0 {
                from_init_scripts(&out.stdout_str(), &mut services);
            }
        }
        if services.is_empty() {
            let mut r = ModuleResult::ok().with_msg(
                "Failed to find any services. This can be due to privileges or some other configuration issue.",
            );
            r.skipped = true;
            return Ok(Plan::Done(r));
        }
        let mut facts = Map::new();
        facts.insert("services".into(), Value::Object(services));
        let mut r = ModuleResult::ok();
        r.data.insert("ansible_facts".into(), Value::Object(facts));
        Ok(Plan::Done(r))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_then_unit_files() {
        let mut s = Map::new();
        from_units(
            "cron.service loaded active running Regular background program\nfoo.service not-found inactive dead foo.service\nssh.service loaded failed failed OpenBSD Secure Shell\n",
            &mut s,
        );
        let unloaded = from_unit_files(
            "UNIT FILE STATE VENDOR PRESET\ncron.service enabled enabled\nssh.service enabled enabled\nrsync.service disabled enabled\n",
            &mut s,
        );
        assert_eq!(
            s["cron.service"],
            json!({"name": "cron.service", "state": "running", "status": "enabled", "source": "systemd"})
        );
        assert_eq!(s["foo.service"]["status"], "not-found");
        assert_eq!(s["ssh.service"]["status"], "failed");
        assert_eq!(unloaded, vec!["rsync.service"]);
        let mut i = Map::new();
        from_init_scripts(" [ + ]  cron\n [ - ]  procps\n [ ? ]  hwclock.sh\n", &mut i);
        assert_eq!(i["cron"]["state"], "running");
        assert_eq!(i["hwclock.sh"]["state"], "unknown");
    }
}
