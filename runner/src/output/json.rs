//! `--output json`: the plays, their tasks and each host's result, printed as one document
//! with the stats when the run ends.

use std::io::Write;
use std::sync::Mutex;

use serde_json::{json, Value};

use super::event::{internal_error_line, internal_error_result, Event, HostLine, Reporter};
use super::shown::{censored, hide_secrets};
use super::warn;

pub struct Json {
    /// Warnings go to stderr, coloured as the text output's.
    color: bool,
    plays: Mutex<Vec<Value>>,
}

impl Json {
    pub fn new(color: bool) -> Json {
        Json {
            color,
            plays: Mutex::new(vec![]),
        }
    }

    fn host(&self, l: &HostLine<'_>) {
        if let Ok(mut p) = self.plays.lock() {
            if let Some(Value::Array(tasks)) = p.last_mut().and_then(|pl| pl.get_mut("tasks")) {
                if let Some(Value::Object(hosts)) =
                    tasks.last_mut().and_then(|t| t.get_mut("hosts"))
                {
                    let mut r = if l.no_log {
                        censored(l.result)
                    } else {
                        hide_secrets(l.result)
                    };
                    r.insert("status".into(), Value::String(l.status.label().into()));
                    if l.ignored {
                        r.insert("ignored".into(), Value::Bool(true));
                    }
                    match hosts.get_mut(l.host) {
                        Some(Value::Array(items)) => items.push(Value::Object(r)),
                        _ if l.item_label.is_some() => {
                            hosts.insert(l.host.to_string(), Value::Array(vec![Value::Object(r)]));
                        }
                        _ => {
                            hosts.insert(l.host.to_string(), Value::Object(r));
                        }
                    }
                }
            }
        }
    }
}

impl Reporter for Json {
    fn report(&self, event: &Event<'_>) {
        match event {
            Event::PlayStart { name } => {
                if let Ok(mut p) = self.plays.lock() {
                    p.push(json!({"play": {"name": name}, "tasks": []}));
                }
            }
            Event::TaskStart { name, .. } => {
                if let Ok(mut p) = self.plays.lock() {
                    if let Some(Value::Array(tasks)) =
                        p.last_mut().and_then(|pl| pl.get_mut("tasks"))
                    {
                        tasks.push(json!({"task": {"name": name}, "hosts": {}}));
                    }
                }
            }
            Event::HostResult(l) => self.host(l),
            Event::InternalError { host, why } => {
                let result = internal_error_result(why);
                self.host(&internal_error_line(host, &result));
            }
            Event::Recap(recap) => {
                let plays = self.plays.lock().map(|p| p.clone()).unwrap_or_default();
                let out = json!({"plays": plays, "stats": recap.to_json()});
                // After a run, a closed stdout must not take the run's exit code away.
                let text = serde_json::to_string_pretty(&out).unwrap_or_default();
                let mut o = std::io::stdout().lock();
                let _ = writeln!(o, "{text}").and_then(|()| o.flush());
            }
            Event::Warning(msg) => warn(self.color, msg),
            _ => {}
        }
    }
}
