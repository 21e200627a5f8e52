//! `hetzner_placement_group` (hetzner.hcloud.placement_group): a spread group, so the
//! control-plane servers land on different physical hosts.

use async_trait::async_trait;
use serde_json::{json, Map, Value};

use super::client::Client;
use super::{describe, labels, API_ARGS};
use crate::spec::{arg, ArgType::*, ModuleSpec};
use crate::{take_work, Args, FileDiff, ModResult, Module, ModuleContext, ModuleResult, Plan};

pub struct PlacementGroup;

static SPEC: ModuleSpec = ModuleSpec::new(
    "hetzner_placement_group",
    "A placement group (spread: its servers on different hosts), found by name.",
    &[
        arg("name", Str, "The group's name.").required(),
        arg("type", Str, "The group's type.")
            .default("\"spread\"")
            .choices(&["spread"]),
        arg("labels", Dict, "Labels (key: value)."),
        arg("state", Str, "Whether the group should exist.")
            .default("\"present\"")
            .choices(&["present", "absent"]),
        API_ARGS[0],
        API_ARGS[1],
    ],
)
.also_known_as(&[
    "hetzner.hcloud.placement_group",
    "hetzner.hcloud.hcloud_placement_group",
    "hcloud_placement_group",
]);

enum Op {
    Create(Value),
    Labels(u64, Value),
    Delete(u64),
}

fn registered(g: &Map<String, Value>) -> Value {
    json!({"id": g.get("id"), "name": g.get("name"), "type": g.get("type"), "labels": g.get("labels"), "servers": g.get("servers")})
}

#[async_trait]
impl Module for PlacementGroup {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn plan(&self, ctx: &ModuleContext<'_>, args: &Args) -> ModResult<Plan> {
        let client = Client::from_args(args)?;
        let name = args.string("name").unwrap_or_default();
        let found = client.find_by_name("/placement_groups", &name).await?;
        let fields = &["name", "type", "labels"];
        let before = found
            .as_ref()
            .map(|g| describe(g, fields))
            .unwrap_or_default();
        let want_labels = labels(args.get("labels"));
        let (op, after) = match (&found, args.str("state")) {
            (None, Some("absent")) => {
                return Ok(Plan::Done(
                    ModuleResult::ok().with("hcloud_placement_group", json!({})),
                ))
            }
            (Some(g), Some("absent")) => (
                Op::Delete(g["id"].as_u64().unwrap_or_default()),
                String::new(),
            ),
            (None, _) => {
                let mut body = json!({"name": name, "type": args.string("type").unwrap_or_else(|| "spread".into())});
                if let Some(l) = want_labels {
                    body["labels"] = Value::Object(l);
                }
                let after = describe(body.as_object().expect("object"), fields);
                (Op::Create(body), after)
            }
            (Some(g), _) => match want_labels.filter(|l| Some(l) != g["labels"].as_object()) {
                Some(l) => {
                    let mut now = g.clone();
                    now.insert("labels".into(), Value::Object(l.clone()));
                    (
                        Op::Labels(g["id"].as_u64().unwrap_or_default(), json!({"labels": l})),
                        describe(&now, fields),
                    )
                }
                None => {
                    return Ok(Plan::Done(
                        ModuleResult::ok().with("hcloud_placement_group", registered(g)),
                    ))
                }
            },
        };
        let mut preview = ModuleResult::changed();
        if ctx.diff {
            preview = preview.with_diff(FileDiff::new(
                &format!("hetzner placement_group {name}"),
                before,
                after,
            ));
        }
        Ok(Plan::change(preview, op))
    }

    async fn apply(
        &self,
        _: &ModuleContext<'_>,
        args: &Args,
        preview: ModuleResult,
        work: Box<dyn std::any::Any + Send>,
    ) -> ModResult<ModuleResult> {
        let client = Client::from_args(args)?;
        let g = match take_work::<Op>(work) {
            Op::Create(body) => {
                client.post("/placement_groups", &body).await?["placement_group"].clone()
            }
            Op::Labels(id, body) => client
                .put(&format!("/placement_groups/{id}"), &body)
                .await?["placement_group"]
                .clone(),
            Op::Delete(id) => {
                client.delete(&format!("/placement_groups/{id}")).await?;
                return Ok(preview.with("hcloud_placement_group", json!({})));
            }
        };
        Ok(preview.with(
            "hcloud_placement_group",
            registered(&g.as_object().cloned().unwrap_or_default()),
        ))
    }
}
