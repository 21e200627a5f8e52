//! What one play shares between its hosts and tasks: the run, the play, its variables and
//! host lists, and the play-wide flags the hosts raise.

use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::Arc;

use serde_json::{Map, Value};

use super::state::Shared;
use crate::inventory::DirVars;
use crate::playbook::Play;

pub struct PlayCtx {
    pub shared: Arc<Shared>,
    pub play: Arc<Play>,
    pub pb_vars: DirVars,
    pub vars_files: Map<String, Value>,
    /// The `groups` variable; add_host and group_by refresh it.
    pub groups: std::sync::RwLock<Value>,
    pub all_hosts: Vec<String>,
    pub batch: Vec<String>,
    pub inventory_dir: Value,
    /// A host failed on a task with any_errors_fatal.
    pub fatal: AtomicBool,
    pub failed_in_batch: AtomicUsize,
    pub ended: AtomicBool,
    /// `throttle:` limits, one per task definition (by position: included tasks are parsed per host).
    pub throttles: std::sync::Mutex<std::collections::HashMap<String, Arc<tokio::sync::Semaphore>>>,
}

impl PlayCtx {
    pub fn active_hosts(&self) -> Vec<String> {
        let st = self.shared.hosts.lock().expect("host state lock");
        self.batch
            .iter()
            .filter(|h| st.get(*h).is_none_or(|s| !s.failed && !s.unreachable))
            .cloned()
            .collect()
    }
}

/// `groups`: every group with its hosts.
pub fn groups_var(inv: &crate::inventory::Inventory) -> Value {
    let mut g = Map::new();
    for name in inv.groups.keys() {
        g.insert(name.clone(), Value::from(inv.group_hosts(name)));
    }
    Value::Object(g)
}

impl std::fmt::Debug for PlayCtx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PlayCtx")
    }
}
