//! The calls that change one resource, carried out in order with their actions waited for;
//! a create the API had already carried out (a retried 5xx) adopts what it made.

use std::time::Duration;

use serde_json::{json, Map, Value};

use crate::clients::hetzner::Client;
use crate::{Controller, ModResult, ModuleError};

/// A collection of the API: its path, the key one object comes under (also the registered
/// result's `hcloud_<one>`), and how messages name one.
pub struct Kind {
    pub path: &'static str,
    pub one: &'static str,
    pub what: &'static str,
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
