//! What one play shares between its hosts and tasks: the run, the play, its variables and
//! host lists, and the play-wide flags the hosts raise.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use minijinja::Value as JValue;
use serde_json::{Map, Value};

use super::state::Shared;
use crate::inventory::DirVars;
use crate::playbook::Play;

pub struct PlayCtx {
    pub shared: Arc<Shared>,
    pub play: Arc<Play>,
    pub pb_vars: DirVars,
    pub vars_files: Map<String, Value>,
    /// The `groups` variable, one Jinja value every task of every host shares (a task
    /// holding its own copy made memory grow with hosts²); add_host and group_by refresh it.
    pub groups: RwLock<JValue>,
    pub all_hosts: Vec<String>,
    pub batch: Vec<String>,
    /// `ansible_play_hosts_all` and `ansible_play_batch`, built once.
    pub all_hosts_var: JValue,
    pub batch_var: JValue,
    /// `ansible_play_hosts`, rebuilt only when a host's failed/unreachable flag changed
    /// (the `Shared::host_flags` generation it was built at).
    pub active_var: Mutex<Option<(u64, JValue)>>,
    pub inventory_dir: Value,
    /// Hosts (by their index in the batch) that failed on a task with any_errors_fatal
    /// since the coordinator last failed the others for it.
    pub fatal: Mutex<BTreeSet<usize>>,
    pub failed_in_batch: AtomicUsize,
    pub ended: AtomicBool,
    /// `meta: end_batch` ended this batch (`ended` too); the next batch runs.
    pub batch_ended: AtomicBool,
    /// Roles include_role brought in with `public: true`: the rest of the play sees their
    /// variables, on every host (as Ansible adds them to the play's roles).
    pub included_roles: RwLock<Vec<Arc<crate::playbook::Role>>>,
    /// `throttle:` limits, one per task definition (by position: included tasks are parsed per host).
    pub throttles: Mutex<std::collections::HashMap<String, Arc<tokio::sync::Semaphore>>>,
}

impl PlayCtx {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        shared: Arc<Shared>,
        play: Arc<Play>,
        pb_vars: DirVars,
        vars_files: Map<String, Value>,
        groups: JValue,
        all_hosts: Vec<String>,
        batch: Vec<String>,
        inventory_dir: Value,
    ) -> PlayCtx {
        PlayCtx {
            shared,
            play,
            pb_vars,
            vars_files,
            groups: RwLock::new(groups),
            all_hosts_var: names_var(&all_hosts),
            batch_var: names_var(&batch),
            all_hosts,
            batch,
            active_var: Mutex::new(None),
            inventory_dir,
            fatal: Mutex::new(BTreeSet::new()),
            failed_in_batch: AtomicUsize::new(0),
            ended: AtomicBool::new(false),
            batch_ended: AtomicBool::new(false),
            throttles: Default::default(),
            included_roles: Default::default(),
        }
    }

    /// The play's roles whose defaults and vars every task sees.
    pub fn public_roles(&self) -> Vec<Arc<crate::playbook::Role>> {
        let included = self.included_roles.read().expect("included roles lock");
        self.play
            .roles
            .iter()
            .chain(included.iter())
            .filter(|r| r.public)
            .cloned()
            .collect()
    }

    pub fn active_hosts(&self) -> Vec<String> {
        let st = self.shared.hosts.lock().expect("host state lock");
        self.batch
            .iter()
            .filter(|h| st.get(*h).is_none_or(|s| !s.failed && !s.unreachable))
            .cloned()
            .collect()
    }

    /// `ansible_play_hosts` (and `play_hosts`): the batch's hosts that have not failed.
    pub fn active_var(&self) -> JValue {
        let generation = self.shared.host_flags.load(Ordering::SeqCst);
        let mut cached = self.active_var.lock().expect("active hosts lock");
        match &*cached {
            Some((g, v)) if *g == generation => v.clone(),
            _ => {
                let v = names_var(&self.active_hosts());
                *cached = Some((generation, v.clone()));
                v
            }
        }
    }
}

/// A list of host names as a Jinja value (cloning it shares the list).
pub fn names_var(names: &[String]) -> JValue {
    JValue::from(
        names
            .iter()
            .map(|h| JValue::from(h.as_str()))
            .collect::<Vec<_>>(),
    )
}

/// `groups`: every group with its hosts.
pub fn groups_var(inv: &crate::inventory::Inventory) -> JValue {
    JValue::from_pairs(
        inv.groups
            .keys()
            .map(|name| (name.as_str(), names_var(&inv.group_hosts(name)))),
    )
}

impl std::fmt::Debug for PlayCtx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PlayCtx")
    }
}
