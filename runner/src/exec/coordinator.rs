//! Keeps hosts in step for the `linear` strategy, as Ansible does: every host walks its own
//! copy of the task tree (blocks, rescue, includes) and asks before each task; when every
//! live host is waiting, the task that comes first in the play (by its path key) runs on all
//! hosts waiting at it, together. With `free`, hosts are released at once.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, watch};

use crate::output::{Event, Reporters};

pub type Key = Vec<u32>;
/// What a run_once task's other hosts receive: the outcome of the host that ran it.
pub type LeaderOutcome = watch::Receiver<Option<super::outcome::TaskOutcome>>;

pub enum Go {
    /// Run the task. With run_once, the leader sends its outcome and the others receive it.
    Run {
        leader: Option<watch::Sender<Option<super::outcome::TaskOutcome>>>,
        follower: Option<LeaderOutcome>,
    },
    /// The play is over for this host (max_fail_percentage, end_play).
    Abort,
    /// Another host failed a task with any_errors_fatal: this host fails where it stands,
    /// as if its last task had failed (its block's rescue and always still run).
    Fail,
}

pub struct Ask {
    pub host: usize,
    pub key: Key,
    /// (banner text, is a handler), printed once when the task starts.
    pub banner: Option<(String, bool)>,
    pub run_once: bool,
    pub reply: oneshot::Sender<Go>,
}

pub enum Msg {
    Ask(Ask),
    Done,
}

#[derive(Clone)]
pub struct CoordHandle {
    pub tx: mpsc::UnboundedSender<Msg>,
    pub host: usize,
}

impl CoordHandle {
    pub async fn ask(&self, key: Key, banner: Option<(String, bool)>, run_once: bool) -> Go {
        let (reply, rx) = oneshot::channel();
        if self
            .tx
            .send(Msg::Ask(Ask {
                host: self.host,
                key,
                banner,
                run_once,
                reply,
            }))
            .is_err()
        {
            return Go::Abort;
        }
        rx.await.unwrap_or(Go::Abort)
    }

    pub fn done(&self) {
        let _ = self.tx.send(Msg::Done);
    }
}

/// Runs until every host is done. `should_abort` is consulted whenever all hosts wait, then
/// `take_fatal`: the hosts that failed with any_errors_fatal since it was last asked; every
/// other waiting host is told to fail (Ansible's linear strategy marks them failed).
pub async fn coordinate(
    mut rx: mpsc::UnboundedReceiver<Msg>,
    hosts: usize,
    free: bool,
    output: Arc<Reporters>,
    should_abort: impl Fn() -> bool,
    take_fatal: impl Fn() -> std::collections::BTreeSet<usize>,
) {
    let mut live = hosts;
    let mut waiting: HashMap<usize, Ask> = HashMap::new();
    let mut last_banner: Option<Key> = None;
    while live > 0 {
        let Some(msg) = rx.recv().await else { break };
        match msg {
            Msg::Done => live -= 1,
            Msg::Ask(a) if free => {
                if a.banner.is_some() && last_banner.as_ref() != Some(&a.key) {
                    if let Some((b, h)) = &a.banner {
                        output.send(Event::TaskStart {
                            name: b,
                            handler: *h,
                            hosts: live,
                        });
                    }
                    last_banner = Some(a.key.clone());
                }
                let _ = a.reply.send(Go::Run {
                    leader: None,
                    follower: None,
                });
            }
            Msg::Ask(a) => {
                waiting.insert(a.host, a);
            }
        }
        if free || waiting.len() < live || waiting.is_empty() {
            continue;
        }
        if should_abort() {
            for (_, a) in waiting.drain() {
                let _ = a.reply.send(Go::Abort);
            }
            continue;
        }
        let fatal = take_fatal();
        if !fatal.is_empty() {
            let others: Vec<usize> = waiting
                .keys()
                .filter(|h| !fatal.contains(h))
                .copied()
                .collect();
            for h in &others {
                if let Some(a) = waiting.remove(h) {
                    let _ = a.reply.send(Go::Fail);
                }
            }
            if !others.is_empty() {
                // They ask again from their rescue or always, or are done.
                continue;
            }
        }
        let first = waiting
            .values()
            .map(|a| a.key.clone())
            .min()
            .expect("not empty");
        let mut group: Vec<Ask> = Vec::new();
        let ids: Vec<usize> = waiting
            .iter()
            .filter(|(_, a)| a.key == first)
            .map(|(h, _)| *h)
            .collect();
        for h in ids {
            group.push(waiting.remove(&h).expect("present"));
        }
        group.sort_by_key(|a| a.host);
        if let Some((b, h)) = &group[0].banner {
            output.send(Event::TaskStart {
                name: b,
                handler: *h,
                hosts: group.len(),
            });
        }
        if group[0].run_once {
            let (tx, rx) = watch::channel(None);
            let mut it = group.into_iter();
            let leader = it.next().expect("not empty");
            let _ = leader.reply.send(Go::Run {
                leader: Some(tx),
                follower: None,
            });
            for a in it {
                let _ = a.reply.send(Go::Run {
                    leader: None,
                    follower: Some(rx.clone()),
                });
            }
        } else {
            for a in group {
                let _ = a.reply.send(Go::Run {
                    leader: None,
                    follower: None,
                });
            }
        }
    }
}
