//! What running a task on a host came to: the status, the registered result, the diffs.

use serde_json::{Map, Value};

use timonel_modules::FileDiff;

use crate::output::Status;

#[derive(Debug, Clone)]
pub struct TaskOutcome {
    pub status: Status,
    pub result: Map<String, Value>,
    pub changed: bool,
    pub ignored: bool,
    pub diffs: Vec<FileDiff>,
    /// Already printed (loop items are printed as they finish).
    pub printed: bool,
    pub delegated: Option<String>,
    pub no_log: bool,
    pub show_result: bool,
}

impl TaskOutcome {
    pub fn new(status: Status, result: Map<String, Value>) -> TaskOutcome {
        TaskOutcome {
            status,
            changed: status == Status::Changed,
            result,
            ignored: false,
            diffs: vec![],
            printed: false,
            delegated: None,
            no_log: false,
            show_result: false,
        }
    }

    pub fn failed(msg: impl Into<String>) -> TaskOutcome {
        let mut r = Map::new();
        r.insert("changed".into(), Value::Bool(false));
        r.insert("failed".into(), Value::Bool(true));
        r.insert("msg".into(), Value::String(msg.into()));
        TaskOutcome::new(Status::Failed, r)
    }

    pub fn skipped(reason: &str) -> TaskOutcome {
        let mut r = Map::new();
        r.insert("changed".into(), Value::Bool(false));
        r.insert("skipped".into(), Value::Bool(true));
        r.insert("skip_reason".into(), Value::String(reason.into()));
        TaskOutcome::new(Status::Skipped, r)
    }

    pub fn failed_now(&self) -> bool {
        matches!(self.status, Status::Failed | Status::Unreachable)
    }
}

/// The result key that lists which of its values are secrets (see `output::hide_secrets`).
pub const SECRET_KEYS: &str = crate::output::SECRET_KEYS;

pub fn result_map(
    r: timonel_modules::ModuleResult,
) -> (Map<String, Value>, Vec<FileDiff>, bool, bool, bool) {
    let mut m = r.data;
    m.insert("changed".into(), Value::Bool(r.changed));
    if let Some(msg) = r.msg {
        m.insert("msg".into(), Value::String(msg));
    }
    if r.skipped {
        m.insert("skipped".into(), Value::Bool(true));
    }
    m.insert("failed".into(), Value::Bool(r.failed));
    if !r.secret.is_empty() {
        // Registered as they are; the output shows them as hidden.
        m.insert(SECRET_KEYS.into(), Value::from(r.secret));
    }
    (m, r.diffs, r.changed, r.failed, r.skipped)
}
