//! Running one task on one host: conditions, loop items, templated arguments, the module's
//! plan/apply steps, retries, changed_when/failed_when, register.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Map, Value};

use modules::invoke::{invoke, Mode};
use modules::{ApplyContext, Become, ExecOptions, FileDiff, Host, ModuleError};

use super::controller::TaskController;
use super::loops;
use super::play::PlayCtx;
use super::vars::{context, strip_omit, task_vars};
use crate::output::{HostLine, Status};
use crate::playbook::Task;

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

/// Prints an outcome (unless its lines are already out) and counts it in the recap.
pub fn record(p: &PlayCtx, host: &str, out: &TaskOutcome, task: Option<&Task>) {
    if !out.printed {
        p.shared.printer.host(HostLine {
            host,
            delegated: out.delegated.as_deref(),
            status: out.status,
            item_label: None,
            result: &out.result,
            diffs: &out.diffs,
            ignored: out.ignored,
            where_: task.map(|t| t.pos.to_string()),
            no_log: out.no_log,
            show_result: out.show_result,
        });
    }
    p.shared.stats(host, |s| match out.status {
        Status::Ok | Status::Changed => {
            s.ok += 1;
            if out.changed {
                s.changed += 1;
            }
        }
        Status::Skipped => s.skipped += 1,
        Status::Unreachable => s.unreachable += 1,
        Status::Failed if out.ignored => {
            // Ansible counts an ignored failure as ok, and as changed if it changed.
            s.ok += 1;
            s.ignored += 1;
            if out.result.get("changed") == Some(&Value::Bool(true)) {
                s.changed += 1;
            }
        }
        Status::Failed => s.failed += 1,
    });
}

/// `register:` and set_fact results become host variables.
pub fn register(p: &PlayCtx, host: &str, t: &Task, out: &TaskOutcome) {
    p.shared.with_host(host, |s| {
        if let Some(name) = &t.register {
            s.vars
                .insert(name.clone(), Value::Object(out.result.clone()));
        }
        if out.status != Status::Skipped && !out.failed_now() {
            for source in std::iter::once(&out.result).chain(
                out.result
                    .get("results")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_object),
            ) {
                if let Some(Value::Object(f)) = source.get("ansible_facts") {
                    // set_fact and include_vars make variables; other modules (setup,
                    // package_facts) report facts about the host.
                    let as_vars = matches!(t.action.as_str(), "set_fact" | "include_vars");
                    for (k, v) in f {
                        let target = if as_vars { &mut s.vars } else { &mut s.facts };
                        target.insert(k.clone(), v.clone());
                    }
                }
            }
        }
    });
}

fn bool_of(p: &PlayCtx, v: &Option<Value>, ctx: &minijinja::Value) -> Result<Option<bool>, String> {
    match v {
        None => Ok(None),
        Some(v) => p
            .shared
            .templar
            .condition(v, ctx)
            .map(Some)
            .map_err(|e| e.0),
    }
}

fn var_str(vars: &Map<String, Value>, keys: &[&str]) -> Option<String> {
    keys.iter()
        .find_map(|k| vars.get(*k))
        .and_then(|v| match v {
            Value::String(s) if !s.contains("{{") => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        })
}

/// How a task reaches its host: connection, become, environment.
struct Reach {
    host_name: String,
    opts: ExecOptions,
}

fn reach(
    p: &PlayCtx,
    host: &str,
    t: &Task,
    vars: &Map<String, Value>,
    ctx: &minijinja::Value,
) -> Result<Reach, String> {
    let templar = &p.shared.templar;
    let delegate = match &t.inh.delegate_to {
        Some(d) => Some(
            templar
                .render_string(d, ctx)
                .map_err(|e| e.0)?
                .as_str()
                .unwrap_or_default()
                .to_string(),
        ),
        None => None,
    };
    let become_kw = bool_of(p, &t.inh.become_.become_, ctx)?;
    let become_var = vars.get("ansible_become").and_then(modules::spec::to_bool);
    let become_on = become_var.or(become_kw).unwrap_or(p.shared.opts.become_);
    let opts_b = &p.shared.opts;
    let become_ = if become_on {
        let user = var_str(vars, &["ansible_become_user"])
            .or(t.inh.become_.user.clone())
            .or(opts_b.become_user.clone())
            .unwrap_or_else(|| "root".into());
        let user = templar
            .render_string(&user, ctx)
            .map_err(|e| e.0)?
            .as_str()
            .unwrap_or("root")
            .to_string();
        Some(Become {
            user,
            method: var_str(vars, &["ansible_become_method"])
                .or(t.inh.become_.method.clone())
                .or(opts_b.become_method.clone())
                .unwrap_or_else(|| "sudo".into()),
            password: var_str(vars, &["ansible_become_password", "ansible_become_pass"])
                .or(opts_b.become_password.clone()),
        })
    } else {
        None
    };
    let mut env = vec![];
    for e in &t.inh.environment {
        if let Value::Object(m) = templar.render_value(e, ctx).map_err(|e| e.0)? {
            for (k, v) in m {
                env.push((
                    k,
                    v.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| v.to_string()),
                ));
            }
        }
    }
    Ok(Reach {
        host_name: delegate.unwrap_or_else(|| host.to_string()),
        opts: ExecOptions {
            stdin: None,
            become_,
            env,
            cwd: None,
        },
    })
}

async fn connection(
    p: &PlayCtx,
    name: &str,
    vars: &Map<String, Value>,
    own: bool,
) -> Result<Arc<dyn modules::Connection>, String> {
    if let Some(c) = p.shared.conns.lock().map_err(|e| e.to_string())?.get(name) {
        return Ok(c.clone());
    }
    let in_inv = p
        .shared
        .inventory
        .read()
        .map(|i| i.hosts.contains_key(name))
        .unwrap_or(false);
    let hv = if own {
        vars.clone()
    } else {
        super::vars::host_level(&p.shared, &p.pb_vars, name)
    };
    let implicit = !in_inv && (name == "localhost" || name == "127.0.0.1" || name == "::1");
    let c = crate::connection::connect(name, &hv, implicit, &p.shared.opts.connect)
        .map_err(|e| e.to_string())?;
    p.shared
        .conns
        .lock()
        .map_err(|e| e.to_string())?
        .insert(name.to_string(), c.clone());
    Ok(c)
}

fn result_map(r: modules::ModuleResult) -> (Map<String, Value>, Vec<FileDiff>, bool, bool, bool) {
    let mut m = r.data;
    m.insert("changed".into(), Value::Bool(r.changed));
    if let Some(msg) = r.msg {
        m.insert("msg".into(), Value::String(msg));
    }
    if r.skipped {
        m.insert("skipped".into(), Value::Bool(true));
    }
    m.insert("failed".into(), Value::Bool(r.failed));
    (m, r.diffs, r.changed, r.failed, r.skipped)
}

/// One execution of the module (one loop item), with until/retries.
async fn execute(p: &Arc<PlayCtx>, host: &str, t: &Task, vars: &Map<String, Value>) -> TaskOutcome {
    let templar = p.shared.templar.clone();
    let ctx = context(p, vars.clone());
    let reach = match reach(p, host, t, vars, &ctx) {
        Ok(r) => r,
        Err(e) => return TaskOutcome::failed(e),
    };
    let delegated = (reach.host_name != host).then(|| reach.host_name.clone());
    let check = match bool_of(p, &t.inh.check_mode, &ctx) {
        Ok(Some(b)) => b,
        Ok(None) => p.shared.opts.check,
        Err(e) => return TaskOutcome::failed(e),
    };
    let diff = match bool_of(p, &t.inh.diff, &ctx) {
        Ok(Some(b)) => b,
        Ok(None) => p.shared.opts.diff,
        Err(e) => return TaskOutcome::failed(e),
    };
    let module = match t.action.as_str() {
        "setup" | "gather_facts" => {
            let mut o = gather_facts(p, host).await;
            o.delegated = delegated;
            return o;
        }
        "include_vars" => return include_vars(p, t, &ctx),
        a => match modules::registry::find(a) {
            Some(m) => m,
            None => return TaskOutcome::failed(format!("unknown module '{a}'")),
        },
    };
    let retries = match &t.retries {
        Some(v) => templar
            .render_value(v, &ctx)
            .ok()
            .and_then(|v| {
                v.as_i64()
                    .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            })
            .unwrap_or(3),
        None if t.until.is_some() => 3,
        None => 0,
    };
    let delay = match &t.delay {
        Some(v) => templar
            .render_value(v, &ctx)
            .ok()
            .and_then(|v| {
                v.as_f64()
                    .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            })
            .unwrap_or(5.0),
        None => 5.0,
    };
    let mut attempt = 0;
    loop {
        attempt += 1;
        let rendered = match templar.render_value(&Value::Object(t.args.clone()), &ctx) {
            Ok(v) => strip_omit(v),
            Err(e) => {
                return TaskOutcome::failed(format!(
                    "{e} (in the arguments of task '{}')",
                    t.display_name()
                ))
            }
        };
        let raw = rendered.as_object().cloned().unwrap_or_default();
        let args = match module.spec().validate(&raw, false) {
            Ok(a) => a,
            Err(errs) => {
                return TaskOutcome::failed(format!(
                    "invalid arguments for {}: {}",
                    module.spec().name,
                    errs.iter()
                        .map(|e| e.message.clone())
                        .collect::<Vec<_>>()
                        .join("; ")
                ))
            }
        };
        let conn = match connection(p, &reach.host_name, vars, delegated.is_none()).await {
            Ok(c) => c,
            Err(e) => {
                let mut o = TaskOutcome::new(
                    Status::Unreachable,
                    json!({"changed": false, "unreachable": true, "msg": e})
                        .as_object()
                        .cloned()
                        .unwrap_or_default(),
                );
                o.delegated = delegated;
                return o;
            }
        };
        let controller = TaskController::new(p.clone(), host, t, ctx.clone());
        let mctx = ApplyContext {
            host: Host::new(conn.as_ref(), reach.opts.clone()),
            diff,
            controller: &controller,
        };
        let mode = if check { Mode::Check } else { Mode::Apply };
        let permit = p.shared.forks.clone().acquire_owned().await;
        let res = invoke(module, &mctx, &args, mode).await;
        drop(permit);
        let (mut result, diffs, mut changed, mut failed, skipped) = match res {
            Ok(r) => result_map(r),
            Err(ModuleError::Unreachable(m)) => {
                p.shared
                    .conns
                    .lock()
                    .map(|mut c| c.remove(&reach.host_name))
                    .ok();
                let mut o = TaskOutcome::new(
                    Status::Unreachable,
                    json!({"changed": false, "unreachable": true, "msg": m})
                        .as_object()
                        .cloned()
                        .unwrap_or_default(),
                );
                o.delegated = delegated;
                return o;
            }
            Err(ModuleError::Failed(m)) => {
                let (r, d, c, _, s) = result_map(modules::ModuleResult::failed(m));
                (r, d, c, true, s)
            }
        };
        if !failed && super::inventory_updates::apply(p, host, &result) {
            changed = true;
            result.insert("changed".into(), Value::Bool(true));
        }
        if check {
            result.insert("check_mode".into(), Value::Bool(true));
        }
        // changed_when / failed_when see the result under the register name.
        let mut cvars = vars.clone();
        if let Some(r) = &t.register {
            cvars.insert(r.clone(), Value::Object(result.clone()));
        }
        let cctx = context(p, cvars);
        if let Some(conds) = &t.changed_when {
            match all_true(p, conds, &cctx) {
                Ok(b) => changed = b,
                Err(e) => return TaskOutcome::failed(format!("changed_when: {e}")),
            }
            result.insert("changed".into(), Value::Bool(changed));
        }
        if let Some(conds) = &t.failed_when {
            match any_true(p, conds, &cctx) {
                Ok(b) => {
                    failed = b;
                    if b && !result.contains_key("msg") {
                        result.insert(
                            "msg".into(),
                            Value::String("The conditional check failed_when was met".into()),
                        );
                    }
                    result.insert("failed_when_result".into(), Value::Bool(b));
                }
                Err(e) => return TaskOutcome::failed(format!("failed_when: {e}")),
            }
            result.insert("failed".into(), Value::Bool(failed));
        }
        if let Some(conds) = &t.until {
            result.insert("attempts".into(), Value::from(attempt));
            let done = all_true(p, conds, &cctx).unwrap_or(false);
            if !done {
                if attempt <= retries {
                    p.shared.printer.write(&format!(
                        "FAILED - RETRYING: [{host}]: {} ({} retries left).\n",
                        t.display_name(),
                        retries - attempt + 1
                    ));
                    tokio::time::sleep(Duration::from_secs_f64(delay)).await;
                    continue;
                }
                failed = true;
                result.insert("failed".into(), Value::Bool(true));
                result.entry("msg").or_insert(Value::String(format!(
                    "Task failed after {attempt} attempts: the until condition was never met"
                )));
            }
        }
        let status = if failed {
            Status::Failed
        } else if skipped {
            Status::Skipped
        } else if changed {
            Status::Changed
        } else {
            Status::Ok
        };
        let mut o = TaskOutcome::new(status, result);
        o.changed = changed && !failed;
        o.diffs = diffs;
        o.delegated = delegated;
        o.show_result = t.action == "debug";
        return o;
    }
}

fn all_true(p: &PlayCtx, conds: &[Value], ctx: &minijinja::Value) -> Result<bool, String> {
    for c in conds {
        if !p.shared.templar.condition(c, ctx).map_err(|e| e.0)? {
            return Ok(false);
        }
    }
    Ok(true)
}

fn any_true(p: &PlayCtx, conds: &[Value], ctx: &minijinja::Value) -> Result<bool, String> {
    for c in conds {
        if p.shared.templar.condition(c, ctx).map_err(|e| e.0)? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The ignore_errors / no_log keywords, which may be templated.
fn keyword(p: &PlayCtx, v: &Option<Value>, vars: &Map<String, Value>, pp: &Arc<PlayCtx>) -> bool {
    match v {
        None => false,
        Some(v) => bool_of(p, &Some(v.clone()), &context(pp, vars.clone()))
            .ok()
            .flatten()
            .unwrap_or(false),
    }
}

pub async fn run(p: &Arc<PlayCtx>, host: &str, t: &Task, vars: Map<String, Value>) -> TaskOutcome {
    let throttle = t.throttle.map(|n| {
        let key = t.pos.to_string();
        let mut m = p.throttles.lock().expect("throttle lock");
        m.entry(key)
            .or_insert_with(|| Arc::new(tokio::sync::Semaphore::new(n)))
            .clone()
    });
    let _slot = match &throttle {
        Some(s) => s.clone().acquire_owned().await.ok(),
        None => None,
    };
    let ignore = keyword(p, &t.inh.ignore_errors, &vars, p);
    let no_log = keyword(p, &t.inh.no_log, &vars, p);
    let mut out = match &t.loop_ {
        None => {
            let ctx = context(p, vars.clone());
            match all_true(p, &t.inh.when, &ctx) {
                Err(e) => TaskOutcome::failed(format!("error while evaluating conditional: {e}")),
                Ok(false) => TaskOutcome::skipped("Conditional result was False"),
                Ok(true) => execute(p, host, t, &vars).await,
            }
        }
        Some(_) => run_loop(p, host, t, vars, no_log).await,
    };
    out.no_log = no_log;
    if out.status == Status::Failed && ignore {
        out.ignored = true;
    }
    out
}

async fn run_loop(
    p: &Arc<PlayCtx>,
    host: &str,
    t: &Task,
    vars: Map<String, Value>,
    no_log: bool,
) -> TaskOutcome {
    let ctx = context(p, vars.clone());
    let items = match loops::items(p, t, &ctx) {
        Ok(i) => i,
        Err(e) => return TaskOutcome::failed(e),
    };
    let n = items.len();
    let mut results = vec![];
    let (mut any_changed, mut any_failed, mut all_skipped) = (false, false, true);
    for (i, item) in items.into_iter().enumerate() {
        let mut iv = vars.clone();
        iv.insert(t.loop_var.clone(), item.clone());
        iv.insert("ansible_loop_var".into(), Value::String(t.loop_var.clone()));
        if let Some(ix) = &t.index_var {
            iv.insert(ix.clone(), Value::from(i));
        }
        iv.insert(
            "ansible_loop".into(),
            json!({"index": i + 1, "index0": i, "first": i == 0, "last": i + 1 == n, "length": n, "revindex": n - i, "revindex0": n - i - 1}),
        );
        let ictx = context(p, iv.clone());
        let label = match &t.loop_label {
            Some(l) => p
                .shared
                .templar
                .render_value(l, &ictx)
                .map(|v| display(&v))
                .unwrap_or_else(|_| display(&item)),
            None => display(&item),
        };
        let mut o = match all_true(p, &t.inh.when, &ictx) {
            Err(e) => TaskOutcome::failed(format!("error while evaluating conditional: {e}")),
            Ok(false) => TaskOutcome::skipped("Conditional result was False"),
            Ok(true) => execute(p, host, t, &iv).await,
        };
        o.result.insert(t.loop_var.clone(), item.clone());
        o.result
            .insert("ansible_loop_var".into(), Value::String(t.loop_var.clone()));
        if o.status == Status::Unreachable {
            return o;
        }
        p.shared.printer.host(HostLine {
            host,
            delegated: o.delegated.as_deref(),
            status: o.status,
            item_label: Some(if no_log { "None".into() } else { label }),
            result: &o.result,
            diffs: &o.diffs,
            ignored: false,
            where_: None,
            no_log,
            show_result: o.show_result,
        });
        any_changed |= o.changed;
        any_failed |= o.status == Status::Failed;
        all_skipped &= o.status == Status::Skipped;
        results.push(Value::Object(o.result));
        if let Some(secs) = t.loop_pause.filter(|s| *s > 0.0) {
            if i + 1 < n {
                tokio::time::sleep(Duration::from_secs_f64(secs)).await;
            }
        }
    }
    let mut r = Map::new();
    r.insert("changed".into(), Value::Bool(any_changed));
    r.insert(
        "msg".into(),
        Value::String(if any_failed {
            "One or more items failed".into()
        } else {
            "All items completed".into()
        }),
    );
    r.insert("results".into(), Value::Array(results));
    r.insert("failed".into(), Value::Bool(any_failed));
    if n > 0 && all_skipped {
        r.insert("skipped".into(), Value::Bool(true));
    }
    let status = if any_failed {
        Status::Failed
    } else if n == 0 || all_skipped {
        Status::Skipped
    } else if any_changed {
        Status::Changed
    } else {
        Status::Ok
    };
    let mut o = TaskOutcome::new(status, r);
    o.changed = any_changed && !any_failed;
    // Item lines are the output; a failed loop still gets its summary line.
    o.printed = status != Status::Failed;
    if n == 0 {
        o.printed = false;
    }
    o
}

fn display(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// include_tasks / include_role: the file (or role) per loop item, or a skip/failure.
/// What an include runs: the file or role name, with the loop item's variables.
pub type IncludeRuns = Vec<(String, Map<String, Value>)>;

pub fn plan_include(
    p: &Arc<PlayCtx>,
    t: &Task,
    vars: Map<String, Value>,
) -> Result<IncludeRuns, Box<TaskOutcome>> {
    let ctx = context(p, vars.clone());
    let mut per_item = vec![];
    if t.loop_.is_some() {
        let items = loops::items(p, t, &ctx).map_err(|e| Box::new(TaskOutcome::failed(e)))?;
        for item in items {
            let mut m = Map::new();
            m.insert(t.loop_var.clone(), item);
            per_item.push(m);
        }
    } else {
        per_item.push(Map::new());
    }
    let mut runs = vec![];
    for iv in per_item {
        let mut all = vars.clone();
        crate::inventory::merge(&mut all, &iv);
        let ictx = context(p, all);
        match all_true(p, &t.inh.when, &ictx) {
            Err(e) => {
                return Err(Box::new(TaskOutcome::failed(format!(
                    "error while evaluating conditional: {e}"
                ))))
            }
            Ok(false) => continue,
            Ok(true) => {}
        }
        let key = if t.action == "include_role" {
            "name"
        } else {
            "file"
        };
        let raw = t
            .args
            .get(key)
            .or_else(|| t.args.get("_raw_params"))
            .cloned()
            .unwrap_or(Value::Null);
        let target = p
            .shared
            .templar
            .render_value(&raw, &ictx)
            .map_err(|e| Box::new(TaskOutcome::failed(e.0)))?;
        let Some(target) = target
            .as_str()
            .map(str::to_string)
            .filter(|s| !s.is_empty())
        else {
            return Err(Box::new(TaskOutcome::failed(format!(
                "{} needs a {key}",
                t.action
            ))));
        };
        let mut inc_vars = iv;
        if let Some(Value::Object(m)) = t.args.get("vars") {
            crate::inventory::merge(&mut inc_vars, m);
        }
        runs.push((target, inc_vars));
    }
    if runs.is_empty() {
        return Err(Box::new(TaskOutcome::skipped(
            "Conditional result was False",
        )));
    }
    Ok(runs)
}

fn include_vars(p: &Arc<PlayCtx>, t: &Task, ctx: &minijinja::Value) -> TaskOutcome {
    let raw = t
        .args
        .get("file")
        .or_else(|| t.args.get("_raw_params"))
        .cloned()
        .unwrap_or(Value::Null);
    let name = match p.shared.templar.render_value(&raw, ctx) {
        Ok(Value::String(s)) => s,
        Ok(_) => return TaskOutcome::failed("include_vars needs a file name"),
        Err(e) => return TaskOutcome::failed(e.0),
    };
    let base = t
        .pos
        .path()
        .parent()
        .map(|d| d.to_path_buf())
        .unwrap_or_default();
    let candidates = [
        base.join("vars").join(&name),
        base.join(&name),
        p.play.dir.join("vars").join(&name),
        p.play.dir.join(&name),
    ];
    let Some(path) = candidates.iter().find(|c| c.is_file()) else {
        return TaskOutcome::failed(format!("include_vars: could not find {name}"));
    };
    match crate::inventory::dirvars_file(path) {
        Ok(vars) => {
            let mut r = Map::new();
            r.insert("changed".into(), Value::Bool(false));
            r.insert("ansible_facts".into(), Value::Object(vars));
            TaskOutcome::new(Status::Ok, r)
        }
        Err(d) => TaskOutcome::failed(d.to_string()),
    }
}

pub async fn gather_facts(p: &Arc<PlayCtx>, host: &str) -> TaskOutcome {
    let vars = task_vars(p, host, &p.play.inh, &Map::new());
    let conn = match connection(p, host, &vars, true).await {
        Ok(c) => c,
        Err(e) => {
            return TaskOutcome::new(
                Status::Unreachable,
                json!({"changed": false, "unreachable": true, "msg": e})
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
            )
        }
    };
    let _permit = p.shared.forks.clone().acquire_owned().await;
    match super::facts::gather(conn.as_ref()).await {
        Ok(facts) => {
            p.shared.with_host(host, |s| s.facts = facts.clone());
            let mut r = Map::new();
            r.insert("changed".into(), Value::Bool(false));
            r.insert("ansible_facts".into(), Value::Object(facts));
            TaskOutcome::new(Status::Ok, r)
        }
        Err(ModuleError::Unreachable(m)) => TaskOutcome::new(
            Status::Unreachable,
            json!({"changed": false, "unreachable": true, "msg": m})
                .as_object()
                .cloned()
                .unwrap_or_default(),
        ),
        Err(ModuleError::Failed(m)) => TaskOutcome::failed(format!("fact gathering failed: {m}")),
    }
}
