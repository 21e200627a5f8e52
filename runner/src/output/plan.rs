//! In `--check`, the plan's summary before the recap, one line per play, as a Terraform plan
//! ends: what would be created (tasks on hosts not created yet, exec/planned.rs), what would
//! change, what is already as asked.

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::Value;

use super::event::{Event, Reporter};
use super::Status;

#[derive(Default)]
struct PlayCount {
    name: String,
    /// Per task and host, the result that counts: the strongest of its items.
    results: HashMap<(usize, String), Kind>,
    new_hosts: Vec<String>,
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Unchanged,
    Change,
    Create,
}

#[derive(Default)]
struct State {
    plays: Vec<PlayCount>,
    task: usize,
    /// Facts are read, not planned: the "Gathering Facts" results don't count.
    facts: bool,
    /// A result of check mode was seen: the run is a plan.
    planning: bool,
}

#[derive(Default)]
pub struct Plan {
    state: Mutex<State>,
}

impl Plan {
    fn summary(st: &State) -> String {
        let mut out = format!("\nPLAN {}\n", "*".repeat(74));
        for p in &st.plays {
            let count = |k: Kind| p.results.values().filter(|v| **v == k).count();
            let n = p.new_hosts.len();
            let create = if n == 0 {
                String::new()
            } else {
                let s = if n == 1 { "" } else { "s" };
                format!(
                    "{} to create on {n} host{s} not created yet, ",
                    count(Kind::Create)
                )
            };
            let line = format!(
                "{} : {create}{} to change, {} unchanged",
                p.name,
                count(Kind::Change),
                count(Kind::Unchanged)
            );
            out.push_str(&line);
            out.push('\n');
        }
        out
    }
}

impl Reporter for Plan {
    fn report(&self, event: &Event<'_>) {
        let Ok(mut st) = self.state.lock() else {
            return;
        };
        match event {
            Event::PlayStart { name } => st.plays.push(PlayCount {
                name: name.to_string(),
                ..Default::default()
            }),
            Event::TaskStart { name, .. } => {
                st.task += 1;
                st.facts = *name == "Gathering Facts";
            }
            Event::HostResult(_) if st.facts => {}
            Event::HostResult(l) => {
                let flag = |k: &str| l.result.get(k) == Some(&Value::Bool(true));
                let kind = if flag("planned") {
                    Kind::Create
                } else {
                    match l.status {
                        Status::Changed => Kind::Change,
                        Status::Ok => Kind::Unchanged,
                        _ => return,
                    }
                };
                st.planning |= flag("planned") || flag("check_mode");
                let task = st.task;
                let Some(play) = st.plays.last_mut() else {
                    return;
                };
                if kind == Kind::Create && !play.new_hosts.iter().any(|h| h == l.host) {
                    play.new_hosts.push(l.host.to_string());
                }
                let slot = play
                    .results
                    .entry((task, l.host.to_string()))
                    .or_insert(kind);
                *slot = (*slot).max(kind);
            }
            Event::Recap(_) if st.planning => super::stdout(&Plan::summary(&st)),
            _ => {}
        }
    }
}
