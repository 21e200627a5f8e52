//! `hetzner_placement_group` (hetzner.hcloud.placement_group): a spread group, so the
//! control-plane servers land on different physical hosts.

use async_trait::async_trait;
use serde_json::{json, Map, Value};

use super::calls::Kind;
use super::resource::{unknown, Notes, Resource, Update};
use super::{labels, API_ARGS};
use crate::clients::hetzner::{Client, Obj};
use crate::spec::{arg, ArgType::*, ModuleSpec};
use crate::{Args, ModResult};

#[derive(Clone)]
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

#[async_trait]
impl Resource for PlacementGroup {
    type Refs = ();

    const KIND: Kind = Kind {
        path: "/placement_groups",
        one: "placement_group",
        what: "placement group",
    };
    const FIELDS: &'static [&'static str] = &["name", "type", "labels"];

    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn refs(&self, _: &Client, _: &Args, _: &mut Notes) -> ModResult<()> {
        Ok(())
    }

    async fn create(
        &self,
        _: &Client,
        args: &Args,
        _: &(),
        _: &mut Notes,
    ) -> ModResult<(Value, Map<String, Value>)> {
        let kind = args.string("type").unwrap_or_else(|| "spread".into());
        let mut body = json!({"name": args.string("name").unwrap_or_default(), "type": kind});
        if let Some(l) = labels(args.get("labels")) {
            body["labels"] = Value::Object(l);
        }
        let shown = body.as_object().cloned().unwrap_or_default();
        Ok((body, shown))
    }

    /// Labels in place; its type is set at creation only.
    fn update(&self, args: &Args, _: &(), u: &mut Update<'_>) -> ModResult<()> {
        u.labels(args);
        Ok(())
    }

    fn registered(&self, g: &Obj, _: &()) -> Value {
        json!({"id": g.get("id"), "name": g.get("name"), "type": g.get("type"), "labels": g.get("labels"), "servers": g.get("servers")})
    }

    fn planned(&self, _: &Args, body: &Value, _: &()) -> Value {
        json!({"id": unknown(), "name": body["name"], "type": body["type"], "labels": body.get("labels").cloned().unwrap_or(json!({})), "servers": []})
    }
}
