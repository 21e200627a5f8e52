//! What every hetzner_* module does the same way: the calls that change one resource, carried
//! out in order with their actions waited for, and the end of the plan step.

use std::time::Duration;

use serde_json::{json, Map, Value};

use super::client::{Client, Obj};
use async_trait::async_trait;

use crate::{
    Apply, ApplyContext, Args, Controller, FileDiff, ModResult, ModuleError, ModuleResult, Plan,
    PlanContext, Work,
};

/// A collection of the API: its path and the key one object comes under.
pub struct Kind {
    pub path: &'static str,
    pub one: &'static str,
}

/// One call that changes a resource.
pub enum Op {
    /// POST to the collection.
    Create(Value),
    /// PUT on the resource (name, labels).
    Update(u64, Value),
    /// POST to one of the resource's actions.
    Action(u64, &'static str, Value),
    Delete(u64),
}

/// Waits for every action an answer names (`action`, `actions`, `next_actions`).
async fn wait_all(
    client: &Client,
    answer: &Value,
    timeout: Duration,
    progress: &dyn Controller,
) -> ModResult<()> {
    let mut actions: Vec<&Value> = answer
        .get("action")
        .filter(|a| a.is_object())
        .into_iter()
        .collect();
    for key in ["actions", "next_actions"] {
        actions.extend(answer[key].as_array().into_iter().flatten());
    }
    for a in actions {
        client.wait_action(a, timeout, progress).await?;
    }
    Ok(())
}

/// A create refused with `uniqueness_error` after a retry (a 5xx whose request the API had
/// carried out): the resource of that name is adopted, with its running actions to wait
/// for, if it is what was asked; otherwise the original error stands.
async fn adopt(client: &Client, kind: &Kind, body: &Value, e: ModuleError) -> ModResult<Value> {
    let name = body["name"].as_str().unwrap_or_default();
    if !e.to_string().contains("uniqueness_error") || name.is_empty() {
        return Err(e);
    }
    let Some(found) = client.find_by_name(kind.path, name).await? else {
        return Err(e);
    };
    if let Some(why) = differs(body, &found) {
        return Err(ModuleError::Failed(format!(
            "{e}; a {} named '{name}' exists but is not the one asked for ({why})",
            kind.one
        )));
    }
    let id = found.get("id").and_then(Value::as_u64).unwrap_or_default();
    let running = client
        .get(&format!("{}/{id}/actions?status=running", kind.path))
        .await
        .map(|r| r.get("actions").cloned().unwrap_or(json!([])))
        .unwrap_or(json!([]));
    Ok(json!({ (kind.one): Value::Object(found.0), "actions": running }))
}

/// The first field of a create body that the existing resource contradicts: plain values
/// compared as they are, references (`server_type: cx22`) with the found object's name.
fn differs(body: &Value, found: &Map<String, Value>) -> Option<String> {
    let asked = body.as_object()?;
    for (k, want) in asked {
        let Some(have) = found.get(k) else { continue };
        let have = match (want, have) {
            (Value::String(_), Value::Object(o)) => o.get("name").unwrap_or(&Value::Null),
            (Value::Object(_) | Value::Array(_), _) => continue,
            _ => have,
        };
        if have != want {
            return Some(format!("{k}: asked {want}, found {have}"));
        }
    }
    None
}

/// Carries out `ops` in order; the resource as it ends up (`{}` once deleted).
pub async fn run(
    client: &Client,
    kind: &Kind,
    ops: Vec<Op>,
    timeout: Duration,
    progress: &dyn Controller,
) -> ModResult<Value> {
    let mut id = None;
    for op in ops {
        let answer = match op {
            Op::Create(body) => {
                let r = match client.post(kind.path, &body).await {
                    Ok(r) => r,
                    Err(e) => adopt(client, kind, &body, e).await?,
                };
                id = r[kind.one]["id"].as_u64();
                r
            }
            Op::Update(rid, body) => {
                id = Some(rid);
                client.put(&format!("{}/{rid}", kind.path), &body).await?
            }
            Op::Action(rid, action, body) => {
                id = Some(rid);
                client
                    .post(&format!("{}/{rid}/actions/{action}", kind.path), &body)
                    .await?
            }
            Op::Delete(rid) => {
                let r = client.delete(&format!("{}/{rid}", kind.path)).await?;
                wait_all(client, &r, timeout, progress).await?;
                return Ok(json!({}));
            }
        };
        wait_all(client, &answer, timeout, progress).await?;
    }
    match id {
        Some(rid) => Ok(client.get(&format!("{}/{rid}", kind.path)).await?[kind.one].clone()),
        None => Ok(json!({})),
    }
}

/// What a plan says besides its calls: notes for the result's message, and references to
/// resources that don't exist yet (an earlier task would create them).
#[derive(Default)]
pub struct Notes {
    lines: Vec<String>,
    missing: Option<String>,
}

impl Notes {
    pub fn push(&mut self, note: String) {
        self.lines.push(note);
    }

    /// A referenced resource that doesn't exist: `note` in check mode, where an earlier task
    /// may not have made it yet; `error` in a real run.
    pub fn missing(&mut self, note: String, error: String) {
        self.lines.push(note);
        self.missing.get_or_insert(error);
    }
}

/// The end of a plan: nothing to do, or a change shown as `before` -> `after` whose calls
/// `work` carries out; unknown while a referenced resource is missing.
pub fn finish(
    ctx: &PlanContext<'_>,
    label: String,
    mut result: ModuleResult,
    notes: Notes,
    (before, after): (String, String),
    ops: Vec<Op>,
    work: impl FnOnce(Vec<Op>) -> Work,
) -> Plan {
    if !notes.lines.is_empty() {
        result.msg = Some(notes.lines.join("; "));
    }
    if ops.is_empty() && notes.missing.is_none() {
        return Plan::Done(result);
    }
    result.changed = true;
    if ctx.diff {
        result = result.with_diff(FileDiff::new(&label, before, after));
    }
    match notes.missing {
        Some(reason) => Plan::Unknown {
            preview: result,
            reason,
        },
        None => Plan::change(result, work(ops)),
    }
}

/// The work of a module that registers the resource as its calls leave it under `key`
/// (`{}` once deleted).
pub fn registering(
    kind: &'static Kind,
    key: &'static str,
    registered: fn(&Obj) -> Value,
) -> impl FnOnce(Vec<Op>) -> Work {
    move |ops| {
        Work::custom(Registering {
            ops,
            kind,
            key,
            registered,
        })
    }
}

struct Registering {
    ops: Vec<Op>,
    kind: &'static Kind,
    key: &'static str,
    registered: fn(&Obj) -> Value,
}

#[async_trait]
impl Apply for Registering {
    async fn apply(
        self: Box<Self>,
        ctx: &ApplyContext<'_>,
        args: &Args,
        preview: ModuleResult,
    ) -> ModResult<ModuleResult> {
        let client = Client::from_args(args)?;
        let obj = run(
            &client,
            self.kind,
            self.ops,
            Duration::from_secs(300),
            ctx.controller,
        )
        .await?;
        let obj = obj.as_object().cloned().unwrap_or_default();
        let value = if obj.is_empty() {
            json!({})
        } else {
            (self.registered)(&Obj(obj))
        };
        Ok(preview.with(self.key, value))
    }
}

#[cfg(test)]
mod tests {
    use super::differs;
    use serde_json::json;

    #[test]
    fn an_existing_resource_matches_the_create_body_or_says_how_not() {
        let found = json!({"id": 7, "name": "web-1", "server_type": {"name": "cx22"},
                           "image": {"name": "debian-12"}, "labels": {"a": "b"}});
        let found = found.as_object().unwrap();
        let body = json!({"name": "web-1", "server_type": "cx22", "image": "debian-12",
                          "location": "nbg1", "labels": {"a": "b"}});
        assert_eq!(differs(&body, found), None);
        let body = json!({"name": "web-1", "server_type": "cx32"});
        assert_eq!(
            differs(&body, found).as_deref(),
            Some("server_type: asked \"cx32\", found \"cx22\"")
        );
    }
}
