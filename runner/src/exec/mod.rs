//! The engine: runs parsed playbooks against the inventory and reports.

// The imports run one way: play -> host -> task -> the task's helpers (reach, conditions,
// includes, judge, record, facts, loops, vars, controller) -> leaves (play_ctx, outcome, state).
mod conditions;
mod coordinator;
mod environment;
mod facts;
mod host;
mod includes;
mod inventory_updates;
mod judge;
mod local_facts;
mod loops;
mod module_args;
mod outcome;
mod planned;
mod play;
mod play_ctx;
mod reach;
mod record;
mod state;
mod task;
mod task_controller;
mod vars;

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, RwLock};

pub use state::RunOptions;
use state::Shared;

use crate::diag::Diagnostic;
use crate::inventory::{DirVars, Inventory};
use crate::output::{Event, Reporters};
use crate::playbook::Playbook;
use crate::template::Templar;

/// Exit codes, as ansible-playbook's: a failed host is 2, an unreachable one 4.
pub mod exit {
    pub const OK: i32 = 0;
    pub const ERROR: i32 = 1;
    pub const HOST_FAILED: i32 = 2;
    pub const HOST_UNREACHABLE: i32 = 4;
    /// Bad playbook, inventory or command line: nothing ran.
    pub const BAD_INPUT: i32 = 5;
    pub const INTERRUPTED: i32 = 99;
}

/// Writes `path` by renaming a new file over it: a symlink there is replaced, never
/// followed, and an interrupted write leaves the old file.
fn write_replacing(path: &Path, body: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .and_then(|mut f| f.write_all(body))
        .and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// Hosts a play targets after `--limit` and `--slice`.
pub fn play_hosts(
    inv: &Inventory,
    pattern: &str,
    limit: Option<&str>,
    slice: Option<crate::inventory::Slice>,
) -> Result<Vec<String>, Diagnostic> {
    let mut hosts = inv
        .select(pattern)
        .map_err(|e| Diagnostic::plain(e.to_string()))?;
    if let Some(l) = limit {
        let allowed: std::collections::HashSet<String> = inv
            .select(l)
            .map_err(|e| Diagnostic::plain(e.to_string()))?
            .into_iter()
            .collect();
        hosts.retain(|h| allowed.contains(h));
    }
    if let Some(s) = slice {
        hosts.retain(|h| s.contains(inv, h));
    }
    Ok(hosts)
}

/// The run's shared state, made before the run so an interrupt can still report on it.
pub fn engine(opts: RunOptions, inventory: Inventory, output: Arc<Reporters>) -> Arc<Shared> {
    let forks = opts.forks.max(1);
    Arc::new(Shared {
        templar: Templar::new(),
        output,
        inventory: RwLock::new(inventory),
        hosts: Mutex::new(Default::default()),
        recap: Mutex::new(Default::default()),
        conns: Mutex::new(Default::default()),
        forks: Arc::new(tokio::sync::Semaphore::new(forks)),
        start_found: Default::default(),
        run_failed: Default::default(),
        host_flags: Default::default(),
        opts,
    })
}

/// Ctrl-C or SIGTERM: every command running on the controller is killed (with its children),
/// then the recap of what ran so far; exit 99, as Ansible's. Commands on SSH hosts are
/// ended after this (`connection::ssh::remote_groups`).
pub fn interrupted(shared: &Shared) -> i32 {
    crate::children::kill_all();
    shared.output.send(Event::Interrupted);
    if let Ok(recap) = shared.recap.lock() {
        shared.output.send(Event::Recap(&recap));
    }
    // The commands ended by the interrupt fail as they stop; that is not news.
    shared.output.close();
    exit::INTERRUPTED
}

pub async fn run(
    shared: Arc<Shared>,
    playbooks: Vec<Playbook>,
    inventory_dir: serde_json::Value,
) -> i32 {
    let output = shared.output.clone();
    let mut stopped = false;
    'books: for pb in &playbooks {
        let mut pb_vars = DirVars::default();
        if let Err(d) = pb_vars.load(pb.path.parent().unwrap_or(Path::new("."))) {
            eprint!("{d}");
            return exit::BAD_INPUT;
        }
        output.send(Event::PlaybookStart {
            path: &pb.path,
            plays: pb.plays.len(),
        });
        for play in &pb.plays {
            let pattern = match play::host_pattern(&shared, play) {
                Ok(p) => p,
                Err(d) => {
                    eprint!("{d}");
                    return exit::BAD_INPUT;
                }
            };
            let hosts = {
                let inv = shared.inventory.read().expect("inventory lock");
                match play_hosts(
                    &inv,
                    &pattern,
                    shared.opts.limit.as_deref(),
                    shared.opts.slice,
                ) {
                    Ok(h) => h,
                    Err(d) => {
                        eprint!("{d}");
                        return exit::BAD_INPUT;
                    }
                }
            };
            let hosts: Vec<String> = {
                let st = shared.hosts.lock().expect("host state lock");
                hosts
                    .into_iter()
                    .filter(|h| {
                        st.get(h)
                            .is_none_or(|s| !s.failed && !s.fatal_marked && !s.unreachable)
                    })
                    .collect()
            };
            let hosts = match play::order_hosts(&shared, play, hosts) {
                Ok(h) => h,
                Err(d) => {
                    eprint!("{d}");
                    return exit::BAD_INPUT;
                }
            };
            match play::run_play(
                shared.clone(),
                Arc::new(play.clone()),
                pb_vars.clone(),
                hosts,
                inventory_dir.clone(),
            )
            .await
            {
                Ok(true) => {}
                Ok(false) => {
                    stopped = true;
                    break 'books;
                }
                Err(d) => {
                    eprint!("{d}");
                    return exit::BAD_INPUT;
                }
            }
        }
    }
    let recap = shared.recap.lock().expect("recap lock");
    output.send(Event::Recap(&recap));
    let failed_hosts: Vec<String> = {
        let st = shared.hosts.lock().expect("host state lock");
        let mut v: Vec<String> = st
            .iter()
            .filter(|(_, s)| s.failed || s.fatal_marked || s.unreachable)
            .map(|(h, _)| h.clone())
            .collect();
        v.sort();
        v
    };
    if !failed_hosts.is_empty() && shared.opts.retry_files {
        if let Some(pb) = playbooks.last() {
            let retry = pb.path.with_extension("retry");
            let body: String = failed_hosts.iter().map(|h| format!("{h}\n")).collect();
            match write_replacing(&retry, body.as_bytes()) {
                Ok(()) => output.send(Event::RetryFile(&retry)),
                Err(e) => output.send(Event::Warning(&format!(
                    "could not write {}: {e}",
                    retry.display()
                ))),
            }
        }
    }
    if recap.any_unreachable() {
        exit::HOST_UNREACHABLE
    } else if recap.any_failed()
        || shared.run_failed.load(Ordering::SeqCst)
        || stopped
        || !failed_hosts.is_empty()
    {
        exit::HOST_FAILED
    } else {
        exit::OK
    }
}
