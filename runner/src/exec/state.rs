//! What lives for the whole run: options, inventory, per-host state, connections, stats.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use serde_json::{Map, Value};
use timonel_modules::Connection;

use crate::inventory::Inventory;
use crate::output::{Recap, Reporters};
use crate::template::Templar;

#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub check: bool,
    pub diff: bool,
    pub forks: usize,
    pub limit: Option<String>,
    pub slice: Option<crate::inventory::Slice>,
    pub extra_vars: Map<String, Value>,
    pub tags: Vec<String>,
    pub skip_tags: Vec<String>,
    pub start_at_task: Option<String>,
    pub connect: crate::connection::ConnectOptions,
    pub become_: bool,
    pub become_user: Option<String>,
    pub become_method: Option<String>,
    pub become_password: Option<String>,
    pub retry_files: bool,
}

/// Facts and variables a host accumulates across plays.
#[derive(Debug, Default, Clone)]
pub struct HostState {
    pub facts: Map<String, Value>,
    /// set_fact and registered results.
    pub vars: Map<String, Value>,
    /// include_vars' variables: below set_fact in precedence (Ansible's vars cache).
    pub included: Map<String, Value>,
    /// Facts were gathered in this run (ANSIBLE_GATHERING=smart gathers only once).
    pub gathered: bool,
    /// Names in `vars` that hold data (registered results, set_fact), never templated again.
    pub data: std::collections::BTreeSet<String>,
    pub failed: bool,
    /// Failed by another host's any_errors_fatal: Ansible keeps such a host among the
    /// failed ones after the play (no later play, exit code 2) even when a rescue caught it.
    pub fatal_marked: bool,
    pub unreachable: bool,
}

pub struct Shared {
    pub opts: RunOptions,
    pub templar: Arc<Templar>,
    /// Where the run's events go (text, progress line, json).
    pub output: Arc<Reporters>,
    pub inventory: RwLock<Inventory>,
    pub hosts: Mutex<HashMap<String, HostState>>,
    pub recap: Mutex<Recap>,
    pub conns: Mutex<HashMap<String, Arc<dyn Connection>>>,
    pub forks: Arc<tokio::sync::Semaphore>,
    pub start_found: AtomicBool,
    /// A play was aborted by any_errors_fatal or max_fail_percentage.
    pub run_failed: AtomicBool,
    /// Bumped whenever a host becomes failed or unreachable or stops being so, so the
    /// active host lists (`ansible_play_hosts`) are rebuilt only when they change.
    pub host_flags: AtomicU64,
}

impl Shared {
    pub fn host_state(&self, host: &str) -> HostState {
        self.hosts
            .lock()
            .map(|h| h.get(host).cloned().unwrap_or_default())
            .unwrap_or_default()
    }

    pub fn with_host<R>(&self, host: &str, f: impl FnOnce(&mut HostState) -> R) -> R {
        let mut g = self.hosts.lock().expect("host state lock");
        let st = g.entry(host.to_string()).or_default();
        let before = (st.failed, st.unreachable);
        let r = f(st);
        if before != (st.failed, st.unreachable) {
            self.host_flags.fetch_add(1, Ordering::SeqCst);
        }
        r
    }

    pub fn stats<R>(&self, host: &str, f: impl FnOnce(&mut crate::output::HostStats) -> R) -> R {
        let mut g = self.recap.lock().expect("recap lock");
        f(g.entry(host))
    }
}
