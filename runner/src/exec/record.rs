//! Where an outcome goes: printed, counted in the recap, registered as host variables.

use serde_json::Value;

use super::outcome::TaskOutcome;
use super::play_ctx::PlayCtx;
use crate::output::{Event, HostLine, Status};
use crate::playbook::{FactsGo, Task};

/// Prints an outcome (unless its lines are already out) and counts it in the recap.
pub fn record(p: &PlayCtx, host: &str, out: &TaskOutcome, task: Option<&Task>) {
    if !out.printed {
        p.shared.output.send(Event::HostResult(HostLine {
            host,
            delegated: out.delegated.as_deref(),
            status: out.status,
            item_label: None,
            result: &out.result,
            diffs: &out.diffs,
            ignored: out.ignored,
            where_: task.map(|t| t.pos.clone()),
            no_log: out.no_log,
            show_result: out.show_result,
        }));
    }
    p.shared.stats(host, |s| match out.status {
        Status::Ok | Status::Changed => {
            s.ok += 1;
            if out.changed {
                s.changed += 1;
            }
        }
        Status::Skipped => s.skipped += 1,
        Status::Unreachable => s.unreachable += 1,
        Status::Failed if out.ignored => {
            // Ansible counts an ignored failure as ok, and as changed if it changed.
            s.ok += 1;
            s.ignored += 1;
            if out.result.get("changed") == Some(&Value::Bool(true)) {
                s.changed += 1;
            }
        }
        Status::Failed => s.failed += 1,
    });
}

/// `register:` and set_fact results become host variables.
pub fn register(p: &PlayCtx, host: &str, t: &Task, out: &TaskOutcome) {
    p.shared.with_host(host, |s| {
        if let Some(name) = &t.register {
            s.vars
                .insert(name.clone(), Value::Object(out.result.clone()));
            s.data.insert(name.clone());
        }
        if out.status != Status::Skipped && !out.failed_now() {
            for source in std::iter::once(&out.result).chain(
                out.result
                    .get("results")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_object),
            ) {
                if let Some(Value::Object(f)) = source.get("ansible_facts") {
                    // set_fact and include_vars make variables; other modules (setup,
                    // package_facts) report facts about the host.
                    let go = t.action.facts_go();
                    let as_vars = matches!(go, FactsGo::Variables { .. });
                    // Facts a module returns (getent_passwd, packages) are also variables
                    // under their own name, as Ansible injects them; setup's are ansible_*.
                    let also_vars = go == FactsGo::FactsAndVariables;
                    for (k, v) in f {
                        let target = match go {
                            FactsGo::Variables { data: false } => &mut s.included,
                            _ if as_vars => &mut s.vars,
                            _ => &mut s.facts,
                        };
                        // setup's facts are `ansible_*`; the host's facts are kept without
                        // the prefix (`ansible_facts.user_id`), as Ansible's namespace_facts.
                        let name = match go {
                            FactsGo::Facts => k.strip_prefix("ansible_").unwrap_or(k),
                            _ => k,
                        };
                        target.insert(name.to_string(), v.clone());
                        if also_vars {
                            s.vars.insert(k.clone(), v.clone());
                            s.data.insert(k.clone());
                        }
                        // set_fact's values were templated once, when the task ran: data.
                        // include_vars' come from the playbook's files: templated when used.
                        match go {
                            FactsGo::Variables { data: false } => {
                                s.data.remove(k);
                            }
                            FactsGo::Variables { data: true } => {
                                s.data.insert(k.clone());
                            }
                            _ => {}
                        }
                    }
                }
            }
        }
    });
}
