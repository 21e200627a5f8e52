//! `hetzner_placement_group` (hetzner.hcloud.placement_group): a spread group, so the
//! control-plane servers land on different physical hosts.

use async_trait::async_trait;
use serde_json::{json, Value};

use super::client::{Client, Obj};
use super::resource::{finish, registering, Kind, Notes, Op};
use super::{describe, labels, API_ARGS};
use crate::spec::{arg, ArgType::*, ModuleSpec};
use crate::{Args, ModResult, Module, ModuleResult, Plan, PlanContext};

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

const KIND: Kind = Kind {
    path: "/placement_groups",
    one: "placement_group",
};

fn registered(g: &Obj) -> Value {
    json!({"id": g.get("id"), "name": g.get("name"), "type": g.get("type"), "labels": g.get("labels"), "servers": g.get("servers")})
}

#[async_trait]
impl Module for PlacementGroup {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn plan(&self, ctx: &PlanContext<'_>, args: &Args) -> ModResult<Plan> {
        let client = Client::from_args(args)?;
        let name = args.string("name").unwrap_or_default();
        let found = client.find_by_name(KIND.path, &name).await?;
        let fields = &["name", "type", "labels"];
        let before = found
            .as_ref()
            .map(|g| describe(g, fields))
            .unwrap_or_default();
        let want_labels = labels(args.get("labels"));
        let mut ops = vec![];
        let after = match (&found, args.str("state")) {
            (None, Some("absent")) => String::new(),
            (Some(g), Some("absent")) => {
                ops.push(Op::Delete(g["id"].as_u64().unwrap_or_default()));
                String::new()
            }
            (None, _) => {
                let kind = args.string("type").unwrap_or_else(|| "spread".into());
                let mut body = json!({"name": name, "type": kind});
                if let Some(l) = want_labels {
                    body["labels"] = Value::Object(l);
                }
                let after = describe(body.as_object().expect("object"), fields);
                ops.push(Op::Create(body));
                after
            }
            (Some(g), _) => match want_labels.filter(|l| Some(l) != g["labels"].as_object()) {
                Some(l) => {
                    let mut now = g.clone();
                    now.insert("labels".into(), Value::Object(l.clone()));
                    ops.push(Op::Update(
                        g["id"].as_u64().unwrap_or_default(),
                        json!({"labels": l}),
                    ));
                    describe(&now, fields)
                }
                None => before.clone(),
            },
        };
        let result = ModuleResult::ok().with(
            "hcloud_placement_group",
            found.as_ref().map(registered).unwrap_or_else(|| json!({})),
        );
        let label = format!("hetzner placement_group {name}");
        Ok(finish(
            ctx,
            label,
            result,
            Notes::default(),
            (before, after),
            ops,
            registering(&KIND, "hcloud_placement_group", registered),
        ))
    }
}
