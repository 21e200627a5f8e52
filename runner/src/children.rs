//! Commands running on the controller (local connections, `lookup('pipe')`), each in a
//! process group of its own, so that an interrupt (Ctrl-C, SIGTERM) ends every one of them
//! and their children at once instead of leaving them orphaned.

use std::collections::BTreeSet;
use std::sync::Mutex;

static GROUPS: Mutex<BTreeSet<i32>> = Mutex::new(BTreeSet::new());

/// A running process group; it leaves the registry when dropped.
pub struct Running(i32);

/// Registers the process group `pgid` (a child started with `process_group(0)`).
pub fn running(pgid: i32) -> Running {
    if let Ok(mut g) = GROUPS.lock() {
        g.insert(pgid);
    }
    Running(pgid)
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(mut g) = GROUPS.lock() {
            g.remove(&self.0);
        }
    }
}

/// Ends every registered process group (the run is being interrupted): SIGTERM first, so a
/// write in progress removes its temporary file, then SIGKILL for what is still there.
pub fn kill_all() {
    let groups = || -> Vec<i32> {
        GROUPS
            .lock()
            .map(|g| g.iter().copied().collect())
            .unwrap_or_default()
    };
    let signal = |sig| {
        for pgid in groups() {
            // SAFETY: kill(2) with a negative pid signals that process group; no memory is
            // touched.
            unsafe {
                libc::kill(-pgid, sig);
            }
        }
    };
    if groups().is_empty() {
        return;
    }
    signal(libc::SIGTERM);
    std::thread::sleep(std::time::Duration::from_millis(150));
    signal(libc::SIGKILL);
}
