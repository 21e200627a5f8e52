//! Planned hosts. In `--check`, a host that `add_host` made from a resource `--check` did not
//! create (a server) has "(known after apply)" as its address. It is never contacted: every
//! task that would run on it is reported as a change, the way a Terraform plan reads, instead
//! of the host being UNREACHABLE as in Ansible's check mode. A planned host is a fresh server
//! from a known image, so what a file task would write there (copy, template) is computed on
//! the controller and shown as a diff from absent, and what never touches the host (set_fact,
//! debug) runs; what needs something the host doesn't have yet (its facts, the results of
//! tasks planned on it) is "known after apply", saying what.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Map, Value};

use async_trait::async_trait;

use timonel_modules::files::content::absent_diff;
use timonel_modules::invoke::{invoke, Mode};
use timonel_modules::{
    ApplyContext, Args, ConnError, Connection, Controller, ExecOptions, ExecOutput, FileSource,
    Host, Module, YamlDocument, KNOWN_AFTER_APPLY,
};

use super::module_args::module_args;
use super::outcome::{result_map, TaskOutcome};
use super::play_ctx::PlayCtx;
use super::task_controller::TaskController;
use crate::output::Status;
use crate::playbook::{Action, Task};

/// Whether `name` is a planned host, given its variables when `own` (the task's own host),
/// else looked up (a delegated host).
pub fn is_planned(p: &PlayCtx, name: &str, vars: &Map<String, Value>, own: bool) -> bool {
    if !p.shared.opts.check {
        return false;
    }
    let address = |v: &Map<String, Value>| {
        ["ansible_host", "ansible_ssh_host"]
            .iter()
            .filter_map(|k| v.get(*k).and_then(Value::as_str))
            .any(|a| a.contains(KNOWN_AFTER_APPLY))
    };
    if own {
        address(vars)
    } else {
        address(&super::vars::host_level(&p.shared, &p.pb_vars, name))
    }
}

/// Facts on a planned host: none yet (ok); any other task: a change known after apply.
pub fn outcome(host: &str, facts: bool) -> TaskOutcome {
    let mut o = known_after(host, "not created yet".into());
    if facts {
        o.result.insert("changed".into(), Value::Bool(false));
        o.status = Status::Ok;
        o.changed = false;
    }
    o
}

/// A change on a planned host that can't be shown before it exists; `why` says what is
/// missing (the output prints "(known after apply: WHY)").
pub fn known_after(host: &str, why: String) -> TaskOutcome {
    let mut r = base(host);
    r.insert("known_after_apply".into(), Value::String(why));
    TaskOutcome::new(Status::Changed, r)
}

fn base(host: &str) -> Map<String, Value> {
    let mut r = Map::new();
    r.insert("changed".into(), Value::Bool(true));
    r.insert("planned".into(), Value::Bool(true));
    r.insert(
        "msg".into(),
        Value::String(format!(
            "{KNOWN_AFTER_APPLY}: {host} does not exist yet (an earlier task creates it)"
        )),
    );
    r
}

/// What the templates in `texts` need that `host`, a planned host, doesn't have yet: its
/// facts (never gathered), the results of tasks that ran on it only as a plan. `None` when
/// they can be rendered.
pub fn needs<'t>(
    p: &PlayCtx,
    host: &str,
    texts: impl IntoIterator<Item = &'t str>,
    vars: &Map<String, Value>,
    ctx: &minijinja::Value,
) -> Option<String> {
    let (mut facts, mut results) = (false, BTreeSet::new());
    for name in texts
        .into_iter()
        .flat_map(|t| p.shared.templar.names_used(t))
    {
        let undefined = ctx.get_attr(&name).map_or(true, |v| v.is_undefined());
        if name == "ansible_facts" || (name.starts_with("ansible_") && undefined) {
            facts = true;
        } else if vars.get(&name).and_then(|v| v.get("planned")) == Some(&Value::Bool(true)) {
            results.insert(name);
        }
    }
    let mut parts: Vec<String> = facts
        .then(|| format!("ansible_facts of {host}"))
        .into_iter()
        .collect();
    let n = results.len();
    if n > 0 {
        let names: Vec<String> = results.into_iter().collect();
        let by = if n == 1 { "a task" } else { "tasks" };
        parts.push(format!(
            "{} (registered by {by} known after apply)",
            names.join(" and ")
        ));
    }
    (!parts.is_empty()).then(|| parts.join(" and "))
}

/// A condition that needs what a planned host doesn't have yet: the task may run, or not.
pub fn condition_needs(
    p: &PlayCtx,
    host: &str,
    when: &[Value],
    vars: &Map<String, Value>,
    ctx: &minijinja::Value,
) -> Option<String> {
    let texts: Vec<&str> = when.iter().filter_map(Value::as_str).collect();
    needs(p, host, texts, vars, ctx).map(|w| format!("its condition needs {w}"))
}

/// Where a task on a planned host runs: `host` is the task's own (whose facts its templates
/// see), `planned` the one it acts on (itself, or the host it is delegated to).
pub struct Target<'a> {
    pub host: &'a str,
    pub planned: &'a str,
    pub diff: bool,
}

/// What a task on a planned host reports: the file it would create, from absent (with
/// `diff`), when its module can tell from the controller alone (`Module::new_host_file`);
/// the result of a module that never touches the host; otherwise a change known after apply,
/// saying what is missing where that is known.
pub async fn preview(
    p: &Arc<PlayCtx>,
    on: &Target<'_>,
    t: &Task,
    vars: &Map<String, Value>,
    ctx: &minijinja::Value,
) -> TaskOutcome {
    let Action::Module(module) = &t.action else {
        return outcome(on.planned, false);
    };
    let mut texts = vec![];
    strings(&Value::Object(t.args.clone()), &mut texts);
    if let Some(why) = needs(p, on.host, texts.iter().map(String::as_str), vars, ctx) {
        return known_after(on.planned, format!("needs {why}"));
    }
    let args = match module_args(p, t, *module, ctx) {
        Ok(a) => a,
        Err(e) => return known_after(on.planned, e),
    };
    let traits = module.spec().engine;
    if traits.sets_variables || traits.shows_result {
        return on_controller(p, on, t, *module, &args, ctx).await;
    }
    let controller = Planned {
        task: TaskController::new(p.clone(), on.host, t, ctx.clone()),
        p,
        host: on.host,
        vars,
        ctx,
    };
    let file = match module.new_host_file(&args, &controller) {
        None => return outcome(on.planned, false),
        Some(Err(e)) => return known_after(on.planned, e),
        Some(Ok(f)) => f,
    };
    let mut o = TaskOutcome::new(Status::Changed, base(on.planned));
    o.result
        .insert("dest".into(), Value::String(file.path.clone()));
    if file
        .content
        .diff_text()
        .is_some_and(|s| s.contains(KNOWN_AFTER_APPLY))
    {
        // The file is shown with the marker where those values go, as Terraform shows them.
        o.result.insert(
            "known_after_apply".into(),
            Value::String("parts of its content".into()),
        );
    }
    if on.diff {
        o.diffs.push(absent_diff(&file.path, &file.content));
    }
    o
}

/// A module that never touches the host (set_fact, debug) runs as on any host: later tasks
/// plan with the variables it sets.
async fn on_controller(
    p: &Arc<PlayCtx>,
    on: &Target<'_>,
    t: &Task,
    module: &dyn Module,
    args: &Args,
    ctx: &minijinja::Value,
) -> TaskOutcome {
    let controller = TaskController::new(p.clone(), on.host, t, ctx.clone());
    let mctx = ApplyContext {
        host: Host::new(&NotCreated, ExecOptions::default()),
        diff: on.diff,
        controller: &controller,
    };
    match invoke(module, &mctx, args, Mode::Check).await {
        Ok(r) => {
            let (mut result, diffs, changed, failed, _) = result_map(r);
            result.insert("check_mode".into(), Value::Bool(true));
            let status = match (failed, changed) {
                (true, _) => Status::Failed,
                (false, true) => Status::Changed,
                (false, false) => Status::Ok,
            };
            let mut o = TaskOutcome::new(status, result);
            o.diffs = diffs;
            o.show_result = module.spec().engine.shows_result;
            o
        }
        Err(e) => known_after(on.planned, e.to_string()),
    }
}

/// The connection of a host that doesn't exist yet: nothing to run a command on.
struct NotCreated;

#[async_trait]
impl Connection for NotCreated {
    async fn exec(&self, _cmd: &str, _opts: &ExecOptions) -> Result<ExecOutput, ConnError> {
        Err(ConnError::Unreachable("not created yet".into()))
    }
}

/// Every string in a task's arguments.
fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Value::Object(m) => m.iter().for_each(|(k, x)| {
            out.push(k.clone());
            strings(x, out)
        }),
        _ => {}
    }
}

/// The task's controller, except that a template file that needs what the planned host
/// doesn't have yet is not rendered (a `default()` would hide the gap): its rendering says
/// what it needs instead.
struct Planned<'a> {
    task: TaskController,
    p: &'a PlayCtx,
    host: &'a str,
    vars: &'a Map<String, Value>,
    ctx: &'a minijinja::Value,
}

impl Controller for Planned<'_> {
    fn find_file(&self, kind: FileSource, name: &str) -> Result<PathBuf, String> {
        self.task.find_file(kind, name)
    }

    fn read_text(&self, path: &Path) -> Result<String, String> {
        self.task.read_text(path)
    }

    fn render(&self, source: &str, name: &str) -> Result<String, String> {
        if let Some(why) = needs(self.p, self.host, [source], self.vars, self.ctx) {
            return Err(format!("needs {why} (in template {name})"));
        }
        self.task.render(source, name)
    }

    fn eval(&self, expr: &str) -> Result<Value, String> {
        self.task.eval(expr)
    }

    fn inventory_hostname(&self) -> String {
        self.task.inventory_hostname()
    }

    fn yaml_documents(&self, text: &str, name: &str) -> Result<Vec<YamlDocument>, String> {
        self.task.yaml_documents(text, name)
    }

    fn to_yaml(&self, value: &Value) -> String {
        self.task.to_yaml(value)
    }
}
