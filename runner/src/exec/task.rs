//! Running one task on one host: conditions, loop items, templated arguments, the module's
//! plan/apply steps, retries, changed_when/failed_when, register.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Map, Value};

use timonel_modules::invoke::{invoke, Mode};
use timonel_modules::{ApplyContext, Host, ModuleError};

use super::conditions::{all_true, any_true, bool_of, keyword};
use super::facts::gather_facts;
use super::includes::include_vars;
use super::judge::{judge, mark_exception, Combine, Keywords, Verdict};
use super::loops;
use super::module_args::module_args;
use super::outcome::{result_map, TaskOutcome};
use super::planned;
use super::play_ctx::PlayCtx;
use super::reach::{connection, reach};
use super::task_controller::TaskController;
use super::vars::context;
use crate::output::{Event, HostLine, Status};
use crate::playbook::{Action, EngineAction, Task};
use crate::template::mark_data;

/// A module timonel knows but doesn't implement ran: say so, and why the task ran (its
/// conditions, with the values they had), so the branch taken is clear.
fn not_implemented(p: &PlayCtx, t: &Task, ctx: &minijinja::Value) -> String {
    let why = if t.inh.when.is_empty() {
        "it has no 'when' condition".to_string()
    } else {
        let conds: Vec<String> = t
            .inh
            .when
            .iter()
            .map(|c| match c {
                Value::String(s) => s.trim().to_string(),
                other => other.to_string(),
            })
            .collect();
        // The facts such branches test, with this host's values.
        let facts: Vec<String> = ["os_family", "distribution", "pkg_mgr", "service_mgr"]
            .iter()
            .filter(|f| conds.iter().any(|c| c.contains(*f)))
            .filter_map(|f| {
                let expr = format!("ansible_facts.{f}");
                let v = p.shared.templar.eval_expr(&expr, ctx).ok()?;
                (!v.is_undefined()).then(|| format!("{expr} is '{v}'"))
            })
            .collect();
        let mut s = format!("its condition was true: {}", conds.join(" and "));
        if !facts.is_empty() {
            s.push_str(&format!("; on this host {}", facts.join(", ")));
        }
        s
    };
    format!(
        "module '{}' is not implemented by timonel (this task ran because {why}); `timonel doc {}` shows what it would accept",
        t.action.name(), t.action.name()
    )
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
    if planned::is_planned(p, &reach.host_name, vars, delegated.is_none()) {
        let diff = bool_of(p, &t.inh.diff, &ctx).ok().flatten();
        let on = planned::Target {
            host,
            planned: &reach.host_name,
            diff: diff.unwrap_or(p.shared.opts.diff),
        };
        let mut o = planned::preview(p, &on, t, vars, &ctx).await;
        o.delegated = delegated;
        return o;
    }
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
    let module = match &t.action {
        Action::Module(m) => *m,
        Action::Engine(EngineAction::Setup | EngineAction::GatherFacts) => {
            let mut o = gather_facts(p, host, &reach.host_name).await;
            o.delegated = delegated;
            return o;
        }
        Action::Engine(EngineAction::IncludeVars) => return include_vars(p, t, &ctx),
        Action::NotImplemented(_) => return TaskOutcome::failed(not_implemented(p, t, &ctx)),
        // The host walk carries out meta and includes; imports are gone after parsing.
        Action::Engine(_) | Action::Unknown(_) => {
            return TaskOutcome::failed(format!("unknown module '{}'", t.action.name()))
        }
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
        let args = match module_args(p, t, module, &ctx) {
            Ok(a) => a,
            Err(e) => return TaskOutcome::failed(e),
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
                let (r, d, c, _, s) = result_map(timonel_modules::ModuleResult::failed(m));
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
        if failed {
            mark_exception(&mut result);
        }
        // Ansible shows the attempt to changed_when/failed_when when the task may retry.
        if retries > 0 {
            result.insert("attempts".into(), Value::from(attempt));
        }
        // The conditions see the result under the register name, as it stands when each
        // is evaluated.
        let eval = |conds: &[Value], how: Combine, res: &Map<String, Value>| {
            let mut cvars = vars.clone();
            if let Some(r) = &t.register {
                cvars.insert(r.clone(), Value::Object(res.clone()));
                mark_data(&mut cvars, r);
            }
            let cctx = context(p, cvars);
            match how {
                Combine::All => all_true(p, conds, &cctx),
                Combine::Any => any_true(p, conds, &cctx),
            }
        };
        // A skipped result (a module that can't run in check mode) is final, as in Ansible.
        let keywords = Keywords {
            changed_when: t.changed_when.as_deref().filter(|_| !skipped),
            failed_when: t.failed_when.as_deref().filter(|_| !skipped),
            until: t.until.as_deref().filter(|_| !skipped),
        };
        let verdict = judge(
            &mut result,
            (changed, failed),
            &keywords,
            (attempt, retries),
            eval,
        );
        (changed, failed) = match verdict {
            Ok(Verdict::Done { changed, failed }) => (changed, failed),
            Ok(Verdict::Retry) => {
                p.shared.output.send(Event::Retrying {
                    host,
                    task: &t.display_name(),
                    left: retries - attempt + 1,
                });
                tokio::time::sleep(Duration::from_secs_f64(delay)).await;
                continue;
            }
            Err(e) => return TaskOutcome::failed(format!("error while evaluating until: {e}")),
        };
        if failed {
            mark_exception(&mut result);
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
        o.show_result = module.spec().engine.shows_result;
        return o;
    }
}

pub async fn run(
    p: &Arc<PlayCtx>,
    host: &str,
    t: &Task,
    mut vars: Map<String, Value>,
) -> TaskOutcome {
    let magic = super::reach::connection_vars(p, host, &vars);
    vars.extend(magic);
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
    // On a planned host a condition may need what the host doesn't have yet (its facts).
    let unknown_when = planned::is_planned(p, host, &vars, true)
        .then(|| planned::condition_needs(p, host, &t.inh.when, &vars, &context(p, vars.clone())))
        .flatten();
    let mut out = match (&t.loop_, unknown_when) {
        (_, Some(why)) => planned::known_after(host, why),
        (None, None) => {
            let ctx = context(p, vars.clone());
            match all_true(p, &t.inh.when, &ctx) {
                // On a planned host a condition may need facts nobody has yet.
                Err(_) if planned::is_planned(p, host, &vars, true) => {
                    planned::outcome(host, false)
                }
                Err(e) => TaskOutcome::failed(format!("error while evaluating conditional: {e}")),
                Ok(false) => TaskOutcome::skipped("Conditional result was False"),
                Ok(true) => execute(p, host, t, &vars).await,
            }
        }
        (Some(_), None) => run_loop(p, host, t, vars, no_log).await,
    };
    out.no_log = no_log;
    if out.status == Status::Failed {
        mark_exception(&mut out.result);
    }
    if out.status == Status::Failed && ignore {
        out.ignored = true;
    }
    out
}

async fn run_loop(
    p: &Arc<PlayCtx>,
    host: &str,
    t: &Task,
    mut vars: Map<String, Value>,
    no_log: bool,
) -> TaskOutcome {
    let ctx = context(p, vars.clone());
    let items = match loops::items(p, t, &ctx) {
        Ok(i) => i,
        Err(_) if planned::is_planned(p, host, &vars, true) => {
            let expr = t.loop_.as_ref().and_then(Value::as_str);
            return match planned::needs(p, host, expr, &vars, &ctx) {
                Some(w) => planned::known_after(host, format!("its loop needs {w}")),
                None => planned::outcome(host, false),
            };
        }
        // As in Ansible, a condition false without the items skips a task whose loop uses
        // an undefined variable (`with_items: "{{ x }}"` with `when: x is defined`).
        Err(e) if e.undefined => {
            return match all_true(p, &t.inh.when, &ctx) {
                Ok(false) => TaskOutcome::skipped("Conditional result was False"),
                _ => TaskOutcome::failed(e.msg),
            }
        }
        Err(e) => return TaskOutcome::failed(e.msg),
    };
    let ext = match loops::extended(p, t, &ctx) {
        Ok(x) => x,
        Err(e) => return TaskOutcome::failed(format!("loop_control: {e}")),
    };
    let n = items.len();
    let mut results = vec![];
    let (mut any_changed, mut any_failed, mut all_skipped) = (false, false, true);
    for (i, item) in items.iter().enumerate() {
        let per_item = loops::item_vars(t, &items, i, ext);
        let mut iv = vars.clone();
        iv.extend(per_item.clone());
        // The item was templated once, with the loop's expression.
        mark_data(&mut iv, &t.loop_var);
        mark_data(&mut iv, "ansible_loop");
        let ictx = context(p, iv.clone());
        let label = match &t.loop_label {
            Some(l) => p
                .shared
                .templar
                .render_value(l, &ictx)
                .map(|v| display(&v))
                .unwrap_or_else(|_| display(item)),
            None => display(item),
        };
        let mut o = match all_true(p, &t.inh.when, &ictx) {
            Err(e) => TaskOutcome::failed(format!("error while evaluating conditional: {e}")),
            Ok(false) => TaskOutcome::skipped("Conditional result was False"),
            Ok(true) => execute(p, host, t, &iv).await,
        };
        if o.status == Status::Failed {
            mark_exception(&mut o.result);
        }
        // A looped set_fact sees what its earlier items set (`x: "{{ x + [item] }}"`).
        if t.action.traits().sets_variables && !o.failed_now() {
            if let Some(Value::Object(f)) = o.result.get("ansible_facts") {
                for (k, v) in f {
                    vars.insert(k.clone(), v.clone());
                    mark_data(&mut vars, k);
                }
            }
        }
        o.result.extend(per_item);
        if o.status == Status::Unreachable {
            return o;
        }
        p.shared.output.send(Event::HostResult(HostLine {
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
        }));
        any_changed |= o.changed;
        any_failed |= o.status == Status::Failed;
        all_skipped &= o.status == Status::Skipped;
        let stop = match break_when(p, t, &iv, &o.result) {
            Ok(b) => b,
            Err(e) => return TaskOutcome::failed(e),
        };
        carry_over(t, &mut vars, &o.result);
        // Per-item results are kept only where something reads them: the registered
        // variable, a failed item (the loop's failure shows it), facts an item sets. A long
        // unregistered loop then holds its items, not a result per item.
        if t.register.is_some()
            || o.status == Status::Failed
            || o.result.contains_key("ansible_facts")
        {
            results.push(Value::Object(o.result));
        }
        if stop {
            break;
        }
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
    if n == 0 {
        // Ansible's result for a loop without items.
        r.insert("skipped".into(), Value::Bool(true));
        r.insert(
            "skipped_reason".into(),
            Value::String("No items in the list".into()),
        );
    } else if all_skipped {
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

/// What an item leaves for the next ones, as Ansible updates the loop's variables after
/// each: the registered result and the variables set_fact / include_vars made (a looped
/// set_fact can build on its previous value).
fn carry_over(t: &Task, vars: &mut Map<String, Value>, result: &Map<String, Value>) {
    if let Some(r) = &t.register {
        vars.insert(r.clone(), Value::Object(result.clone()));
        mark_data(vars, r);
    }
    let Some(Value::Object(facts)) = result.get("ansible_facts") else {
        return;
    };
    if let crate::playbook::FactsGo::Variables { data } = t.action.facts_go() {
        for (k, v) in facts {
            vars.insert(k.clone(), v.clone());
            if data {
                mark_data(vars, k);
            }
        }
    }
}

/// `loop_control.break_when` after an item, which sees the item's result under the
/// register name (as Ansible's `_run_loop`).
fn break_when(
    p: &Arc<PlayCtx>,
    t: &Task,
    iv: &Map<String, Value>,
    result: &Map<String, Value>,
) -> Result<bool, String> {
    if t.break_when.is_empty() {
        return Ok(false);
    }
    let mut bv = iv.clone();
    if let Some(r) = &t.register {
        bv.insert(r.clone(), Value::Object(result.clone()));
        mark_data(&mut bv, r);
    }
    all_true(p, &t.break_when, &context(p, bv))
        .map_err(|e| format!("error while evaluating break_when: {e}"))
}

fn display(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
