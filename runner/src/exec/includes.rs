//! include_tasks / include_role (what they would run) and include_vars.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::conditions::all_true;
use super::loops;
use super::outcome::TaskOutcome;
use super::play_ctx::PlayCtx;
use super::vars::context;
use crate::output::Status;
use crate::playbook::{EngineAction, Task};

/// What an include runs: the file or role name, with the loop item's variables.
pub type IncludeRuns = Vec<(String, Map<String, Value>)>;

/// include_tasks / include_role: the file (or role) per loop item, or a skip/failure.
pub fn plan_include(
    p: &Arc<PlayCtx>,
    t: &Task,
    vars: Map<String, Value>,
) -> Result<IncludeRuns, Box<TaskOutcome>> {
    let ctx = context(p, vars.clone());
    let mut per_item = vec![];
    if t.loop_.is_some() {
        let items = match loops::items(p, t, &ctx) {
            Ok(items) => items,
            // As for a task: a false condition skips a loop over undefined names.
            Err(e) if e.undefined && matches!(all_true(p, &t.inh.when, &ctx), Ok(false)) => {
                return Err(Box::new(TaskOutcome::skipped(
                    "Conditional result was False",
                )))
            }
            Err(e) => return Err(Box::new(TaskOutcome::failed(e.msg))),
        };
        let ext = loops::extended(p, t, &ctx).map_err(|e| Box::new(TaskOutcome::failed(e)))?;
        for i in 0..items.len() {
            per_item.push(loops::item_vars(t, &items, i, ext));
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
        let key = if t.action.engine() == Some(EngineAction::IncludeRole) {
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
                t.action.name()
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

pub fn include_vars(p: &Arc<PlayCtx>, t: &Task, ctx: &minijinja::Value) -> TaskOutcome {
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
    // As Ansible searches: the role's vars/ first, then the task file's, then the play's.
    let role = t.inh.role.as_ref().map(|r| r.path.clone());
    let candidates: Vec<_> = role
        .iter()
        .chain([&base, &p.play.dir])
        .flat_map(|d| [d.join("vars").join(&name), d.join(&name)])
        .collect();
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
