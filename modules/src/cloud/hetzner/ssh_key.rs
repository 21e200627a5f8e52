//! `hetzner_ssh_key` (hetzner.hcloud.ssh_key): an SSH key in the project, found by name.

use async_trait::async_trait;
use serde_json::{json, Value};

use super::client::{Client, Obj};
use super::resource::{finish, registering, Kind, Notes, Op};
use super::{describe, labels, API_ARGS};
use crate::spec::{arg, ArgType::*, ModuleSpec};
use crate::{Args, ModResult, Module, ModuleError, ModuleResult, Plan, PlanContext};

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

const KIND: Kind = Kind {
    path: "/ssh_keys",
    one: "ssh_key",
};

/// The key material, without the comment.
fn key_material(k: &str) -> String {
    k.split_whitespace().take(2).collect::<Vec<_>>().join(" ")
}

fn registered(key: &Obj) -> Value {
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

    async fn plan(&self, ctx: &PlanContext<'_>, args: &Args) -> ModResult<Plan> {
        let client = Client::from_args(args)?;
        let name = args.string("name").unwrap_or_default();
        let found = client.find_by_name(KIND.path, &name).await?;
        let want_labels = labels(args.get("labels"));
        let before = found
            .as_ref()
            .map(|k| describe(k, FIELDS))
            .unwrap_or_default();
        let mut ops = vec![];
        let mut notes = Notes::default();
        let after = match (args.str("state"), &found) {
            (Some("absent"), None) => String::new(),
            (Some("absent"), Some(k)) => {
                ops.push(Op::Delete(k["id"].as_u64().unwrap_or_default()));
                String::new()
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
                ops.push(Op::Create(body));
                after
            }
            (_, Some(k)) => {
                // A key's material cannot change: say so rather than ignore it.
                if args.str("public_key").is_some_and(|p| {
                    key_material(p) != key_material(k["public_key"].as_str().unwrap_or(""))
                }) {
                    notes.push(format!(
                        "the public_key differs from the existing key '{name}' ({}), which the API \
                         cannot change: remove the key (state: absent) and create it again",
                        k["fingerprint"].as_str().unwrap_or("")
                    ));
                }
                let current = labels(k.get("labels")).unwrap_or_default();
                match want_labels.filter(|l| *l != current) {
                    Some(l) => {
                        let mut updated = k.clone();
                        updated.insert("labels".into(), Value::Object(l.clone()));
                        ops.push(Op::Update(
                            k["id"].as_u64().unwrap_or_default(),
                            json!({"labels": l}),
                        ));
                        describe(&updated, FIELDS)
                    }
                    None => before.clone(),
                }
            }
        };
        let result = ModuleResult::ok().with(
            "hcloud_ssh_key",
            found.as_ref().map(registered).unwrap_or_else(|| json!({})),
        );
        let label = format!("hetzner ssh_key {name}");
        Ok(finish(
            ctx,
            label,
            result,
            notes,
            (before, after),
            ops,
            registering(&KIND, "hcloud_ssh_key", registered),
        ))
    }
}
