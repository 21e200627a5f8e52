//! Commands running on SSH hosts, by the process group of the shell that runs them (a session
//! sshd made for the channel), so that an interrupt (Ctrl-C, SIGTERM) can end them and their
//! children over the same connection. Closing the connection alone does not: a command
//! without a terminal keeps running. Ending the group ends that shell too, which is what an
//! interrupted run wants.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use russh::client::Handle;
use russh::ChannelMsg;

use timonel_modules::connection::{become_command, sh_quote};
use timonel_modules::Become;

use super::Client;

struct Remote {
    handle: Arc<Handle<Client>>,
    pgid: i32,
    become_: Option<Become>,
}

static RUNNING: Mutex<BTreeMap<u64, Remote>> = Mutex::new(BTreeMap::new());

/// A remote process group in the registry; it leaves when dropped (the command ended).
pub struct Running(u64);

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(mut r) = RUNNING.lock() {
            r.remove(&self.0);
        }
    }
}

/// Registers the process group `pgid` running on `handle`'s host, started with `become_`
/// (the same escalation ends it: a command run as root can't be signalled by the login user).
pub fn running(handle: &Arc<Handle<Client>>, pgid: i32, become_: Option<Become>) -> Running {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let id = N.fetch_add(1, Ordering::Relaxed);
    if let Ok(mut r) = RUNNING.lock() {
        r.insert(
            id,
            Remote {
                handle: handle.clone(),
                pgid,
                become_,
            },
        );
    }
    Running(id)
}

/// Ends every registered remote process group: SIGTERM, then SIGKILL for what is still
/// there, each host on a channel of its own, all at once, within `limit`.
pub async fn kill_all(limit: Duration) {
    let all: Vec<Remote> = match RUNNING.lock() {
        Ok(mut r) => std::mem::take(&mut *r).into_values().collect(),
        Err(_) => return,
    };
    let mut kills = tokio::task::JoinSet::new();
    for r in all {
        kills.spawn(async move {
            let _ = tokio::time::timeout(limit, kill(&r)).await;
        });
    }
    let _ = tokio::time::timeout(limit, kills.join_all()).await;
}

async fn kill(r: &Remote) -> Result<(), russh::Error> {
    let g = r.pgid;
    // `kill -SIG -PGID`: dash's kill takes no `--`. Where the shell does not lead a group
    // (an sshd that made no session), only the shell itself is signalled.
    let script = format!(
        "kill -TERM -{g} 2>/dev/null || kill -TERM {g} 2>/dev/null; sleep 0.2; \
         kill -KILL -{g} 2>/dev/null || kill -KILL {g} 2>/dev/null; true"
    );
    let script = match &r.become_ {
        Some(b) => become_command(&script, b),
        None => script,
    };
    let mut ch = r.handle.channel_open_session().await?;
    ch.exec(true, format!("sh -c {}", sh_quote(&script)))
        .await?;
    if let Some(p) = r.become_.as_ref().and_then(|b| b.password.as_ref()) {
        ch.data(format!("{p}\n").as_bytes()).await?;
    }
    ch.eof().await?;
    while let Some(msg) = ch.wait().await {
        if matches!(msg, ChannelMsg::ExitStatus { .. } | ChannelMsg::Close) {
            break;
        }
    }
    Ok(())
}
