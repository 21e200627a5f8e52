//! One host's walk through a play: sections, blocks with rescue/always, includes, handlers
//! and meta tasks. Before each task it waits for the coordinator.

use std::collections::BTreeSet;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use serde_json::{json, Map, Value};
use std::future::Future;
use std::pin::Pin;

use super::coordinator::{CoordHandle, Go, Key};
use super::outcome::TaskOutcome;
use super::play_ctx::PlayCtx;
use super::record::{record, register};
use super::task;
use super::vars::{context, task_vars};
use crate::output::{Event, Status};
use crate::playbook::{parse::parse_task_file, EngineAction, Inherited, Item, Meta, Task};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    /// The host failed (and nothing rescued it yet).
    Failed,
    /// The host is out of this play: unreachable, end_host, end_play, or aborted.
    Stop,
}

pub struct HostRun {
    p: Arc<PlayCtx>,
    host: String,
    coord: CoordHandle,
    notified: BTreeSet<usize>,
    started: bool,
    /// ansible_failed_task / ansible_failed_result while in a rescue section.
    extra: Map<String, Value>,
    /// The host's failure came from another host's any_errors_fatal (no failed task of
    /// its own to count, or to count as rescued).
    forced: bool,
    /// `meta: clear_host_errors` ran (in an always section, it ends the block's failure).
    cleared: bool,
    /// Roles (by `Role::key`) with a task that ran on the host in this play (not skipped),
    /// and those completed: their end was reached after such a task (Ansible's
    /// `_had_task_run` and `_completed`, kept per play).
    roles_ran: std::collections::HashSet<String>,
    roles_done: std::collections::HashSet<String>,
    /// After `meta: end_role`: the role (key) whose remaining tasks are skipped up to its end.
    ending_role: Option<String>,
}

fn tag_selected(p: &PlayCtx, tags: &[String]) -> bool {
    let opts = &p.shared.opts;
    let has = |t: &str| tags.iter().any(|x| x == t);
    if has("never") && !opts.tags.iter().any(|t| tags.contains(t)) {
        return false;
    }
    if opts.skip_tags.iter().any(|t| {
        has(t) || (t == "tagged" && !tags.is_empty()) || (t == "untagged" && tags.is_empty())
    }) {
        return false;
    }
    if opts.tags.is_empty() || opts.tags.iter().any(|t| t == "all") || has("always") {
        return true;
    }
    opts.tags.iter().any(|t| {
        has(t) || (t == "tagged" && !tags.is_empty()) || (t == "untagged" && tags.is_empty())
    })
}

impl HostRun {
    pub fn new(p: Arc<PlayCtx>, host: String, coord: CoordHandle) -> HostRun {
        let started =
            p.shared.opts.start_at_task.is_none() || p.shared.start_found.load(Ordering::SeqCst);
        HostRun {
            p,
            host,
            coord,
            notified: BTreeSet::new(),
            started,
            extra: Map::new(),
            forced: false,
            cleared: false,
            roles_ran: Default::default(),
            roles_done: Default::default(),
            ending_role: None,
        }
    }

    pub async fn run(mut self) {
        let play = self.p.play.clone();
        let mut flow = Flow::Continue;
        if self.started && super::facts::play_gathers(&self.p, &self.host) {
            flow = self.gather(vec![0]).await;
        }
        if flow == Flow::Continue {
            for (s, section) in play.sections.iter().enumerate() {
                let key = vec![s as u32 + 1];
                flow = self.walk(section.clone(), key.clone()).await;
                if flow == Flow::Stop {
                    break;
                }
                // Roles and tasks are one section: their handlers run after the tasks
                // (Ansible's Play.compile).
                if s == 1 && flow == Flow::Continue {
                    continue;
                }
                if flow == Flow::Continue || play.force_handlers {
                    let f = self.flush(key.clone()).await;
                    if f != Flow::Continue {
                        flow = f;
                    }
                }
                if flow != Flow::Continue {
                    break;
                }
            }
        }
        self.coord.done();
    }

    async fn gather(&mut self, key: Key) -> Flow {
        match self
            .coord
            .ask(key, Some(("Gathering Facts".into(), false)), false)
            .await
        {
            Go::Run { .. } => {}
            Go::Fail => return self.failed_by_another(),
            Go::Abort => return Flow::Stop,
        }
        let out = super::facts::gather_facts(&self.p, &self.host, &self.host).await;
        self.finish_simple(out, None).await
    }

    /// Counts and reports an outcome that has no task behind it (facts).
    async fn finish_simple(&mut self, out: TaskOutcome, task: Option<&Task>) -> Flow {
        record(&self.p, &self.host, &out, task);
        match out.status {
            Status::Unreachable => Flow::Stop,
            Status::Failed if !out.ignored => {
                self.mark_failed(task);
                Flow::Failed
            }
            _ => Flow::Continue,
        }
    }

    fn mark_failed(&self, task: Option<&Task>) {
        self.p.shared.with_host(&self.host, |s| s.failed = true);
        self.p.failed_in_batch.fetch_add(1, Ordering::SeqCst);
        let fatal = task
            .and_then(|t| t.inh.any_errors_fatal)
            .unwrap_or(self.p.play.any_errors_fatal);
        // A failed run_once task fails every host, as in Ansible.
        let run_once = task
            .and_then(|t| t.inh.run_once.as_ref())
            .is_some_and(|v| timonel_modules::spec::to_bool(v).unwrap_or(false));
        if fatal || run_once {
            self.p
                .fatal
                .lock()
                .expect("fatal lock")
                .insert(self.coord.host);
        }
    }

    /// The coordinator said another host failed with any_errors_fatal: this host fails
    /// where it stands, without a failed task of its own.
    fn failed_by_another(&mut self) -> Flow {
        self.p.shared.with_host(&self.host, |s| {
            s.failed = true;
            s.fatal_marked = true;
        });
        self.p.failed_in_batch.fetch_add(1, Ordering::SeqCst);
        self.forced = true;
        Flow::Failed
    }

    fn walk(
        &mut self,
        items: Vec<Item>,
        prefix: Key,
    ) -> Pin<Box<dyn Future<Output = Flow> + Send + '_>> {
        Box::pin(async move {
            for (i, item) in items.into_iter().enumerate() {
                let mut key = prefix.clone();
                key.push(i as u32);
                let flow = match item {
                    Item::Task(t) => self.step(t, key).await,
                    Item::RoleEnd(r) => {
                        if self.ending_role.as_ref() == Some(&r.key) {
                            self.ending_role = None;
                        }
                        if self.roles_ran.contains(&r.key) {
                            self.roles_done.insert(r.key.clone());
                        }
                        Flow::Continue
                    }
                    Item::Block(b) => {
                        let mut k0 = key.clone();
                        k0.extend([0, 0]);
                        let mut flow = self
                            .walk(b.block.clone(), k0[..k0.len() - 1].to_vec())
                            .await;
                        if flow == Flow::Failed && !b.rescue.is_empty() {
                            self.p.shared.with_host(&self.host, |s| s.failed = false);
                            self.p.failed_in_batch.fetch_sub(1, Ordering::SeqCst);
                            if !std::mem::take(&mut self.forced) {
                                self.p.shared.stats(&self.host, |s| {
                                    s.failed = s.failed.saturating_sub(1);
                                    s.rescued += 1;
                                });
                            }
                            let mut k = key.clone();
                            k.push(1);
                            flow = self.walk(b.rescue.clone(), k).await;
                            self.extra.clear();
                        }
                        if flow != Flow::Stop && !b.always.is_empty() {
                            let was_failed = flow == Flow::Failed;
                            if was_failed {
                                // always runs for a failed host; it stays failed afterwards.
                                self.p.shared.with_host(&self.host, |s| s.failed = false);
                            }
                            let mut k = key.clone();
                            k.push(2);
                            self.cleared = false;
                            let a = self.walk(b.always.clone(), k).await;
                            if was_failed {
                                if a == Flow::Failed {
                                    // Counted when the block failed and again now.
                                    self.p.failed_in_batch.fetch_sub(1, Ordering::SeqCst);
                                } else if self.cleared {
                                    // meta: clear_host_errors: the host goes on.
                                    self.p.failed_in_batch.fetch_sub(1, Ordering::SeqCst);
                                    self.forced = false;
                                    flow = Flow::Continue;
                                } else {
                                    self.p.shared.with_host(&self.host, |s| s.failed = true);
                                }
                            }
                            if a != Flow::Continue {
                                flow = a;
                            }
                        }
                        flow
                    }
                };
                if flow != Flow::Continue {
                    return flow;
                }
            }
            Flow::Continue
        })
    }

    fn vars_for(&self, inh: &Inherited, extra: &Map<String, Value>) -> Map<String, Value> {
        let mut e = self.extra.clone();
        crate::inventory::merge(&mut e, extra);
        task_vars(&self.p, &self.host, inh, &e)
    }

    async fn step(&mut self, t: Arc<Task>, key: Key) -> Flow {
        if !self.started {
            let want = self.p.shared.opts.start_at_task.clone().unwrap_or_default();
            if t.starts_at(&want) || self.p.shared.start_found.load(Ordering::SeqCst) {
                self.started = true;
                self.p.shared.start_found.store(true, Ordering::SeqCst);
            } else {
                return Flow::Continue;
            }
        }
        if self.ending_role.is_some() || self.role_completed(&t) {
            return Flow::Continue;
        }
        let engine = t.action.engine();
        // An include's tags go to what it includes; the include itself always runs.
        if !tag_selected(&self.p, &t.inh.tags) && !engine.is_some_and(EngineAction::is_include) {
            return Flow::Continue;
        }
        if self.p.ended.load(Ordering::SeqCst) {
            return Flow::Stop;
        }
        match engine {
            Some(EngineAction::Meta(m)) => return self.meta(&t, m, key).await,
            Some(a) if a.is_include() => return self.include(&t, key).await,
            _ => {}
        }
        // add_host runs once for the play's hosts, as Ansible's bypasses the host loop.
        let run_once = t.action.traits().bypass_host_loop
            || match &t.inh.run_once {
                Some(v) => timonel_modules::spec::to_bool(v).unwrap_or(false),
                None => false,
            };
        let (leader, follower) = match self
            .coord
            .ask(key, Some((t.display_name(), false)), run_once)
            .await
        {
            Go::Run { leader, follower } => (leader, follower),
            Go::Fail => return self.failed_by_another(),
            Go::Abort => return Flow::Stop,
        };
        let out = match follower {
            Some(mut rx) => {
                let shared = rx
                    .wait_for(|v| v.is_some())
                    .await
                    .ok()
                    .and_then(|v| v.clone());
                let Some(o) = shared else { return Flow::Stop };
                // Followers take the leader's result silently, as Ansible does.
                register(&self.p, &self.host, &t, &o);
                return Flow::Continue;
            }
            None => {
                let vars = self.vars_for(&t.inh, &Map::new());
                self.timed(&t, vars).await
            }
        };
        if let Some(tx) = leader {
            let _ = tx.send(Some(out.clone()));
        }
        self.after_task(&t, out).await
    }

    /// Runs a task, telling the progress display when this host starts and ends it.
    async fn timed(&self, t: &Task, vars: Map<String, Value>) -> TaskOutcome {
        let output = &self.p.shared.output;
        output.send(Event::HostStarted { host: &self.host });
        let out = task::run(&self.p, &self.host, t, vars).await;
        output.send(Event::HostFinished { host: &self.host });
        out
    }

    /// A task of a role that already completed on this host (an equal role listed again,
    /// without allow_duplicates): skipped silently, as Ansible does.
    fn role_completed(&self, t: &Task) -> bool {
        let Some(r) = t.inh.role.as_ref().filter(|r| !r.allow_duplicates) else {
            return false;
        };
        self.roles_done.contains(&r.key)
    }

    /// A task of a role ran on this host (it was not skipped or unreachable).
    fn role_ran(&mut self, t: &Task) {
        if let Some(r) = &t.inh.role {
            self.roles_ran.insert(r.key.clone());
        }
    }

    async fn after_task(&mut self, t: &Task, out: TaskOutcome) -> Flow {
        register(&self.p, &self.host, t, &out);
        if !matches!(out.status, Status::Skipped | Status::Unreachable) {
            self.role_ran(t);
        }
        if out.changed && !out.failed_now() {
            self.notify(t);
        }
        if out.status == Status::Failed && !out.ignored {
            self.extra.insert(
                "ansible_failed_task".into(),
                // The task's own name (no role prefix), empty without one, as in Ansible.
                json!({"name": t.name.clone().unwrap_or_default(), "action": t.action.name()}),
            );
            self.extra.insert(
                "ansible_failed_result".into(),
                Value::Object(out.result.clone()),
            );
        }
        let unreachable = out.status == Status::Unreachable && !t.ignore_unreachable;
        let flow = self.finish_simple(out, Some(t)).await;
        if unreachable {
            self.p
                .shared
                .with_host(&self.host, |s| s.unreachable = true);
            return Flow::Stop;
        }
        flow
    }

    fn notify(&mut self, t: &Task) {
        for n in &t.notify {
            for (i, h) in self.p.play.handlers.iter().enumerate() {
                if h.name.as_deref() == Some(n.as_str())
                    || h.display_name() == *n
                    || h.listen.iter().any(|l| l == n)
                {
                    self.notified.insert(i);
                }
            }
        }
    }

    async fn flush(&mut self, prefix: Key) -> Flow {
        let handlers = self.p.play.handlers.clone();
        let mut i = 0;
        while i < handlers.len() {
            if self.notified.remove(&i) {
                let h = handlers[i].clone();
                let mut key = prefix.clone();
                key.extend([1, i as u32]);
                match self
                    .coord
                    .ask(key, Some((h.display_name(), true)), false)
                    .await
                {
                    Go::Run { .. } => {}
                    Go::Fail => return self.failed_by_another(),
                    Go::Abort => return Flow::Stop,
                }
                let vars = self.vars_for(&h.inh, &Map::new());
                let out = self.timed(&h, vars).await;
                let flow = self.after_task(&h, out).await;
                if flow != Flow::Continue {
                    return flow;
                }
                // A handler may notify one defined earlier: start over.
                if self.notified.iter().any(|n| *n < i) {
                    i = 0;
                    continue;
                }
            }
            i += 1;
        }
        Flow::Continue
    }

    async fn meta(&mut self, t: &Arc<Task>, what: Meta, key: Key) -> Flow {
        let vars = self.vars_for(&t.inh, &Map::new());
        let ctx = context(&self.p, vars);
        let when_ok = t.inh.when.iter().try_fold(true, |acc, c| {
            self.p.shared.templar.condition(c, &ctx).map(|b| acc && b)
        });
        if let Ok(false) = when_ok {
            self.meta_skipped(what);
            return Flow::Continue;
        }
        let Ok(true) = when_ok else {
            return Flow::Continue;
        };
        self.meta_done(what);
        match what {
            Meta::FlushHandlers => {
                match self.coord.ask(key.clone(), None, false).await {
                    Go::Run { .. } => {}
                    Go::Fail => return self.failed_by_another(),
                    Go::Abort => return Flow::Stop,
                }
                self.flush(key).await
            }
            Meta::EndPlay | Meta::EndBatch => {
                if what == Meta::EndBatch {
                    self.p.batch_ended.store(true, Ordering::SeqCst);
                }
                self.p.ended.store(true, Ordering::SeqCst);
                Flow::Stop
            }
            Meta::EndHost => Flow::Stop,
            Meta::EndRole => {
                // The rest of the role is skipped on this host; the role still completes.
                self.ending_role = t.inh.role.as_ref().map(|r| r.key.clone());
                Flow::Continue
            }
            Meta::ClearFacts => {
                self.p.shared.with_host(&self.host, |s| s.facts.clear());
                Flow::Continue
            }
            Meta::ClearHostErrors => {
                let mut was = false;
                self.p.shared.with_host(&self.host, |s| {
                    was = s.failed;
                    s.failed = false;
                    s.fatal_marked = false;
                });
                if was {
                    self.p.failed_in_batch.fetch_sub(1, Ordering::SeqCst);
                }
                self.cleared = true;
                Flow::Continue
            }
            _ => Flow::Continue,
        }
    }

    /// A meta task whose condition was false: Ansible says so (-vv) and shows it skipped,
    /// without counting it.
    fn meta_skipped(&self, what: Meta) {
        let mut reason = format!("{} conditional evaluated to False", what.name());
        let mut msg = reason.clone();
        if what == Meta::EndHost {
            reason.push_str(&format!(", continuing execution for {}", self.host));
            msg = format!(
                "end_host conditional evaluated to false, continuing execution for {}",
                self.host
            );
        }
        let out = self.p.shared.output.clone();
        out.send(Event::Meta { text: &reason });
        let result = json!({"msg": msg, "skipped": true, "skip_reason": reason});
        let result = result.as_object().cloned().unwrap_or_default();
        out.send(Event::HostResult(crate::output::HostLine {
            host: &self.host,
            delegated: None,
            status: Status::Skipped,
            item_label: None,
            result: &result,
            diffs: &[],
            ignored: false,
            where_: None,
            no_log: false,
            show_result: false,
        }));
    }

    /// What a meta task does, in Ansible's words (-vv): once for the play's metas (the first
    /// host to run one says it), per host for end_host.
    fn meta_done(&self, what: Meta) {
        let text = match what {
            Meta::EndHost => format!("ending play for {}", self.host),
            Meta::EndPlay if !self.p.ended.load(Ordering::SeqCst) => "ending play".into(),
            Meta::EndBatch if !self.p.ended.load(Ordering::SeqCst) => "ending batch".into(),
            _ => return,
        };
        self.p.shared.output.send(Event::Meta { text: &text });
    }

    /// Ansible reports an include as "included" and counts it as ok.
    fn included(&self, what: &str) {
        self.p.shared.output.send(Event::Included {
            what,
            host: &self.host,
        });
        self.p.shared.stats(&self.host, |s| s.ok += 1);
    }

    /// include_tasks / include_role: decided per host at run time, possibly in a loop.
    async fn include(&mut self, t: &Arc<Task>, key: Key) -> Flow {
        match self
            .coord
            .ask(key.clone(), Some((t.display_name(), false)), false)
            .await
        {
            Go::Run { .. } => {}
            Go::Fail => return self.failed_by_another(),
            Go::Abort => return Flow::Stop,
        }
        let vars = self.vars_for(&t.inh, &Map::new());
        let plan = super::includes::plan_include(&self.p, t, vars.clone());
        let runs = match plan {
            Ok(r) => r,
            Err(out) => return self.after_task(t, *out).await,
        };
        for (n, (target, item_vars)) in runs.into_iter().enumerate() {
            let mut inh = t.apply.as_deref().unwrap_or(&t.inh).clone();
            // The include's own `when` was for the include (apply's `when` is kept).
            inh.when.drain(..t.inh.when.len().min(inh.when.len()));
            // The loop item and the include's `vars:` are include params (above set_fact).
            crate::inventory::merge(&mut inh.include_params, &item_vars);
            let items = if t.action.engine() == Some(EngineAction::IncludeRole) {
                let mut parser = crate::playbook::parse::Parser::new(self.p.play.dir.clone());
                // tasks_from & co. are templated when the role is included.
                let mut all = vars.clone();
                crate::inventory::merge(&mut all, &item_vars);
                let ctx = context(&self.p, all);
                let mut from_args = Map::new();
                for k in ["tasks_from", "vars_from", "defaults_from", "handlers_from"] {
                    if let Some(v) = t.args.get(k) {
                        match self.p.shared.templar.render_value(v, &ctx) {
                            Ok(v) => from_args.insert(k.to_string(), v),
                            Err(e) => {
                                return self.after_task(t, TaskOutcome::failed(e.0)).await;
                            }
                        };
                    }
                }
                parser.role_from = Some(crate::playbook::roles::RoleFrom::from_args(&from_args));
                let (call, role_inh) =
                    crate::playbook::roles::RoleCall::from_task(t, false, &item_vars);
                inh.include_params = role_inh.include_params;
                let (items, role) =
                    parser.expand_role(&target, call, &inh, &t.pos, &mut vec![], None);
                if let Some(r) = role.filter(|r| r.public) {
                    self.p
                        .included_roles
                        .write()
                        .expect("included roles lock")
                        .push(r);
                }
                if !parser.errors.is_empty() {
                    let msg = parser
                        .errors
                        .iter()
                        .map(|d| d.to_string())
                        .collect::<Vec<_>>()
                        .join("\n");
                    return self.after_task(t, TaskOutcome::failed(msg)).await;
                }
                self.included(&target);
                self.role_ran(t);
                items
            } else {
                let base = t
                    .pos
                    .path()
                    .parent()
                    .map(|p| p.to_path_buf())
                    .unwrap_or_default();
                let path = base.join(&target);
                let path = if path.is_file() {
                    path
                } else {
                    self.p.play.dir.join(&target)
                };
                match parse_task_file(&path, &inh, &self.p.play.dir) {
                    Ok(items) => {
                        let shown = path.canonicalize().unwrap_or(path.clone());
                        self.included(&shown.display().to_string());
                        self.role_ran(t);
                        items
                    }
                    Err(d) => return self.after_task(t, TaskOutcome::failed(d.to_string())).await,
                }
            };
            let mut k = key.clone();
            k.push(n as u32);
            let flow = self.walk(items, k).await;
            if flow != Flow::Continue {
                return flow;
            }
        }
        Flow::Continue
    }
}
