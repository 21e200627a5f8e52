//! `hetzner_ssh_key` (hetzner.hcloud.ssh_key): an SSH key in the project, found by name.

use async_trait::async_trait;
use serde_json::{json, Map, Value};

use super::client::Client;
use super::{describe, labels, API_ARGS};
use crate::spec::{arg, ArgType::*, ModuleSpec};
use crate::{
    take_work, Args, FileDiff, ModResult, Module, ModuleContext, ModuleError, ModuleResult, Plan,
};

pub struct SshKey;

static SPEC: ModuleSpec = ModuleSpec::new(
    "hetzner_ssh_key",
    "An SSH key in the Hetzner Cloud project, for servers to be created with.",
    &[
        arg("name", Str, "The key's name.").required(),
        arg(
            "public_key",
            Str,
            "The public key (OpenSSH format); needed to create it.",
        ),
        arg("labels", Dict, "Labels (key: value)."),
        arg("state", Str, "Whether the key should exist.")
            .default("\"present\"")
            .choices(&["present", "absent"]),
        API_ARGS[0],
        API_ARGS[1],
    ],
)
.also_known_as(&[
    "hetzner.hcloud.ssh_key",
    "hetzner.hcloud.hcloud_ssh_key",
    "hcloud_ssh_key",
]);

const FIELDS: &[&str] = &["name", "fingerprint", "public_key", "labels"];

enum Work {
    Create(Value),
    Update(u64, Value),
    Delete(u64),
}

/// The key material, without the comment.
fn key_material(k: &str) -> String {
    k.split_whitespace().take(2).collect::<Vec<_>>().join(" ")
}

fn registered(key: &Map<String, Value>) -> Value {
    json!({
        "id": key.get("id"),
        "name": key.get("name"),
        "fingerprint": key.get("fingerprint"),
        "public_key": key.get("public_key"),
        "labels": key.get("labels"),
    })
}

#[async_trait]
impl Module for SshKey {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn plan(&self, ctx: &ModuleContext<'_>, args: &Args) -> ModResult<Plan> {
        let client = Client::from_args(args)?;
        let name = args.string("name").unwrap_or_default();
        let found = client.find_by_name("/ssh_keys", &name).await?;
        let want_labels = labels(args.get("labels"));
        let label = format!("hetzner ssh_key {name}");
        let before = found
            .as_ref()
            .map(|k| describe(k, FIELDS))
            .unwrap_or_default();
        let (work, after, mut msg) = match (args.str("state"), &found) {
            (Some("absent"), None) => {
                return Ok(Plan::Done(
                    ModuleResult::ok().with("hcloud_ssh_key", json!({})),
                ))
            }
            (Some("absent"), Some(k)) => {
                let id = k["id"].as_u64().unwrap_or_default();
                (Work::Delete(id), String::new(), None)
            }
            (_, None) => {
                let public_key = args.string("public_key").ok_or_else(|| {
                    ModuleError::Failed(format!(
                        "hetzner_ssh_key: 'public_key' is needed to create the key '{name}'"
                    ))
                })?;
                let mut body = json!({"name": name, "public_key": public_key.trim()});
                if let Some(l) = &want_labels {
                    body["labels"] = Value::Object(l.clone());
                }
                let after = describe(body.as_object().expect("object"), FIELDS);
                (Work::Create(body), after, None)
            }
            (_, Some(k)) => {
                // A key's material cannot change: say so rather than ignore it.
                let msg = args
                    .str("public_key")
                    .filter(|p| key_material(p) != key_material(k["public_key"].as_str().unwrap_or("")))
                    .map(|_| {
                        format!(
                            "the public_key differs from the existing key '{name}' ({}), which the API \
                             cannot change: remove the key (state: absent) and create it again",
                            k["fingerprint"].as_str().unwrap_or("")
                        )
                    });
                let current = labels(k.get("labels")).unwrap_or_default();
                match want_labels.filter(|l| *l != current) {
                    Some(l) => {
                        let mut updated = k.clone();
                        updated.insert("labels".into(), Value::Object(l.clone()));
                        let id = k["id"].as_u64().unwrap_or_default();
                        (
                            Work::Update(id, json!({"labels": l})),
                            describe(&updated, FIELDS),
                            msg,
                        )
                    }
                    None => {
                        let mut r = ModuleResult::ok().with("hcloud_ssh_key", registered(k));
                        r.msg = msg;
                        return Ok(Plan::Done(r));
                    }
                }
            }
        };
        let mut preview = ModuleResult::changed();
        preview.msg = msg.take();
        if let Some(k) = &found {
            preview = preview.with("hcloud_ssh_key", registered(k));
        }
        if ctx.diff {
            preview = preview.with_diff(FileDiff::new(&label, before, after));
        }
        Ok(Plan::change(preview, work))
    }

    async fn apply(
        &self,
        _ctx: &ModuleContext<'_>,
        args: &Args,
        preview: ModuleResult,
        work: Box<dyn std::any::Any + Send>,
    ) -> ModResult<ModuleResult> {
        let client = Client::from_args(args)?;
        let key = match take_work::<Work>(work) {
            Work::Create(body) => client.post("/ssh_keys", &body).await?["ssh_key"].clone(),
            Work::Update(id, body) => {
                client.put(&format!("/ssh_keys/{id}"), &body).await?["ssh_key"].clone()
            }
            Work::Delete(id) => {
                client.delete(&format!("/ssh_keys/{id}")).await?;
                json!({})
            }
        };
        let key = key.as_object().cloned().unwrap_or_default();
        let value = if key.is_empty() {
            json!({})
        } else {
            registered(&key)
        };
        Ok(preview.with("hcloud_ssh_key", value))
    }
}
