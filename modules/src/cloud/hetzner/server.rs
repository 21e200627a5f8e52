//! `hetzner_server` (hetzner.hcloud.server): a server found by name, created only when
//! missing, labels and power state reconciled, and registered with the collection's keys
//! (`hcloud_server.ipv4_address`, ...) so the next play can reach it.

use std::time::Duration;

use async_trait::async_trait;
use serde_json::{json, Map, Value};

use super::client::Client;
use super::resource::{finish, run, Kind, Notes, Op};
use super::{describe, labels, API_ARGS};
use crate::spec::{arg, ArgType::*, ModuleSpec};
use crate::{
    Apply, ApplyContext, Args, ModResult, Module, ModuleError, ModuleResult, Plan, PlanContext,
    Work,
};

pub struct Server;

static SPEC: ModuleSpec = ModuleSpec::new(
    "hetzner_server",
    "A Hetzner Cloud server: created when missing (found by name), labels and power state reconciled, or deleted.",
    &[
        arg("name", Str, "The server's name.").required(),
        arg("server_type", Str, "e.g. cx22; needed to create it."),
        arg("image", Str, "e.g. debian-12; needed to create it."),
        arg("location", Str, "e.g. fsn1, nbg1, hel1."),
        arg("datacenter", Str, "e.g. fsn1-dc14 (instead of location)."),
        arg("ssh_keys", List, "SSH key names or IDs for root."),
        arg("labels", Dict, "Labels (key: value)."),
        arg("user_data", Str, "cloud-init user data."),
        arg("networks", List, "Private networks (names or IDs) it is attached to."),
        arg("firewalls", List, "Firewalls (names or IDs) applied at creation."),
        arg("placement_group", Str, "Placement group (name or ID), set at creation."),
        arg(
            "upgrade_disk",
            Bool,
            "With a new server_type, grow the disk too (the type cannot be downgraded after).",
        )
        .default("false"),
        arg(
            "force",
            Bool,
            "Power a running server off when a change needs it (server_type), then on again.",
        )
        .default("false"),
        arg("enable_ipv4", Bool, "Give it a public IPv4 address.").default("true"),
        arg("enable_ipv6", Bool, "Give it a public IPv6 network.").default("true"),
        arg(
            "state",
            Str,
            "present: exists (created started); started/stopped: and powered on/off; \
             restarted: rebooted; rebuild: reinstalled from image (its disk is wiped); absent: deleted.",
        )
        .default("\"present\"")
        .choices(&["present", "started", "stopped", "restarted", "rebuild", "absent"]),
        arg("timeout", Int, "Seconds to wait for each action to finish.").default("600"),
        API_ARGS[0],
        API_ARGS[1],
    ],
)
.exclusive(&[&["location", "datacenter"]])
.also_known_as(&["hetzner.hcloud.server", "hetzner.hcloud.hcloud_server", "hcloud_server"]);

const FIELDS: &[&str] = &[
    "name",
    "server_type",
    "image",
    "location",
    "datacenter",
    "status",
    "labels",
];

const KIND: Kind = Kind {
    path: "/servers",
    one: "server",
};

/// The server's location: `location`, or the deprecated `datacenter.location`.
pub fn location(s: &Value) -> Value {
    match &s["location"]["name"] {
        Value::Null => s["datacenter"]["location"]["name"].clone(),
        v => v.clone(),
    }
}

/// The fields `--diff` shows, flattened from the API's nested objects.
fn flat(s: &Map<String, Value>) -> Map<String, Value> {
    let s = &Value::Object(s.clone());
    let mut m = Map::new();
    m.insert("name".into(), s["name"].clone());
    m.insert("server_type".into(), s["server_type"]["name"].clone());
    m.insert("image".into(), s["image"]["name"].clone());
    m.insert("location".into(), location(s));
    m.insert("datacenter".into(), s["datacenter"]["name"].clone());
    m.insert("status".into(), s["status"].clone());
    m.insert("labels".into(), s["labels"].clone());
    m
}

/// What the hetzner.hcloud collection registers as `hcloud_server`.
fn registered(s: &Map<String, Value>, networks: &[(u64, String)]) -> Value {
    let s = &Value::Object(s.clone());
    let name_of = |id: &Value| {
        networks
            .iter()
            .find(|(n, _)| Some(*n) == id.as_u64())
            .map(|(_, name)| name.clone())
            .unwrap_or_else(|| id.to_string())
    };
    let private: Vec<Value> = s["private_net"].as_array().cloned().unwrap_or_default();
    json!({
        "id": s["id"],
        "name": s["name"],
        "status": s["status"],
        "server_type": s["server_type"]["name"],
        "image": s["image"]["name"],
        "location": location(s),
        "datacenter": s["datacenter"]["name"],
        "ipv4_address": s["public_net"]["ipv4"]["ip"],
        "ipv6": s["public_net"]["ipv6"]["ip"],
        "private_networks": private.iter().map(|p| name_of(&p["network"])).collect::<Vec<_>>(),
        "private_networks_info": private.iter().map(|p| json!({"name": name_of(&p["network"]), "ip": p["ip"]})).collect::<Vec<_>>(),
        "labels": s["labels"],
        "rescue_enabled": s["rescue_enabled"],
        "backup_window": s["backup_window"],
        "delete_protection": s["protection"]["delete"],
        "rebuild_protection": s["protection"]["rebuild"],
        "placement_group": s["placement_group"],
        "created": s["created"],
    })
}

/// Network names (or IDs) to (id, name); a missing one is noted (an earlier task may not have
/// created it yet).
async fn networks(
    client: &Client,
    args: &Args,
    notes: &mut Notes,
) -> ModResult<Vec<(u64, String)>> {
    let mut out = vec![];
    for n in args.strings("networks") {
        if let Ok(id) = n.parse::<u64>() {
            out.push((id, n));
            continue;
        }
        match client.find_by_name("/networks", &n).await? {
            Some(net) => out.push((net["id"].as_u64().unwrap_or_default(), n)),
            None => notes.missing(
                format!("network '{n}' does not exist yet"),
                format!(
                    "hetzner_server: network '{n}' not found: create it first (hetzner_network)"
                ),
            ),
        }
    }
    Ok(out)
}

/// IDs of resources named by name or ID; a missing one is noted.
async fn ids(
    client: &Client,
    path: &str,
    refs: &[String],
    notes: &mut Notes,
) -> ModResult<Vec<u64>> {
    let mut out = vec![];
    for r in refs {
        let id = match r.parse::<u64>() {
            Ok(id) => Some(id),
            Err(_) => client
                .find_by_name(path, r)
                .await?
                .and_then(|o| o["id"].as_u64()),
        };
        match id {
            Some(id) => out.push(id),
            None => {
                let what = &path[1..path.len() - 1];
                notes.missing(
                    format!("{what} '{r}' does not exist yet"),
                    format!("hetzner_server: {what} '{r}' not found: create it first"),
                )
            }
        }
    }
    Ok(out)
}

#[async_trait]
impl Module for Server {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn plan(&self, ctx: &PlanContext<'_>, args: &Args) -> ModResult<Plan> {
        let client = Client::from_args(args)?;
        let name = args.string("name").unwrap_or_default();
        let state = args.string("state").unwrap_or_else(|| "present".into());
        let found = client.find_by_name("/servers", &name).await?;
        let mut notes = Notes::default();
        let nets = networks(&client, args, &mut notes).await?;
        let label = format!("hetzner server {name}");
        let mut ops = vec![];
        let before = found
            .as_ref()
            .map(|s| describe(&flat(s), FIELDS))
            .unwrap_or_default();
        let mut after_obj = found.as_ref().map(|s| flat(s));
        match (&found, state.as_str()) {
            (None, "absent") => {
                return Ok(Plan::Done(
                    ModuleResult::ok().with("hcloud_server", json!({})),
                ))
            }
            (Some(s), "absent") => {
                ops.push(Op::Delete(s["id"].as_u64().unwrap_or_default()));
                after_obj = None;
            }
            (None, _) => {
                let (Some(server_type), Some(image)) =
                    (args.string("server_type"), args.string("image"))
                else {
                    return Err(ModuleError::Failed(format!(
                        "hetzner_server: 'server_type' and 'image' are needed to create the server '{name}'"
                    )));
                };
                let mut body = json!({
                    "name": name,
                    "server_type": server_type,
                    "image": image,
                    "start_after_create": state != "stopped",
                    "public_net": {"enable_ipv4": args.bool("enable_ipv4"), "enable_ipv6": args.bool("enable_ipv6")},
                });
                for k in ["location", "datacenter", "user_data"] {
                    if let Some(v) = args.string(k) {
                        body[k] = json!(v);
                    }
                }
                // Names or IDs, as the API takes them.
                let keys: Vec<Value> = args
                    .strings("ssh_keys")
                    .into_iter()
                    .map(|k| {
                        k.parse::<u64>()
                            .map(Value::from)
                            .unwrap_or(Value::String(k))
                    })
                    .collect();
                if !keys.is_empty() {
                    body["ssh_keys"] = Value::Array(keys);
                }
                if !nets.is_empty() {
                    body["networks"] = json!(nets.iter().map(|(id, _)| *id).collect::<Vec<_>>());
                }
                let firewalls = ids(
                    &client,
                    "/firewalls",
                    &args.strings("firewalls"),
                    &mut notes,
                )
                .await?;
                if !firewalls.is_empty() {
                    body["firewalls"] = json!(firewalls
                        .iter()
                        .map(|id| json!({"firewall": id}))
                        .collect::<Vec<_>>());
                }
                let group: Vec<String> = args.string("placement_group").into_iter().collect();
                if let Some(g) = ids(&client, "/placement_groups", &group, &mut notes)
                    .await?
                    .first()
                {
                    body["placement_group"] = json!(g);
                }
                if let Some(l) = labels(args.get("labels")) {
                    body["labels"] = Value::Object(l);
                }
                let mut shown = Map::new();
                for k in [
                    "name",
                    "server_type",
                    "image",
                    "location",
                    "datacenter",
                    "labels",
                ] {
                    if let Some(v) = body.get(k) {
                        shown.insert(k.into(), v.clone());
                    }
                }
                shown.insert(
                    "status".into(),
                    json!(if state == "stopped" { "off" } else { "running" }),
                );
                after_obj = Some(shown);
                ops.push(Op::Create(body));
            }
            (Some(s), _) => {
                let id = s["id"].as_u64().unwrap_or_default();
                let now = flat(s);
                let mut status = s["status"].as_str().unwrap_or("");
                let after = after_obj.as_mut().expect("found");
                // A new type needs the server off: with force it is stopped and started again.
                if let Some(t) = args
                    .string("server_type")
                    .filter(|t| Some(t.as_str()) != now["server_type"].as_str())
                {
                    let running = status != "off";
                    if running && !args.bool("force") {
                        return Err(ModuleError::Failed(format!(
                            "hetzner_server: changing '{name}' from {} to {t} needs the server off: \
                             add force: yes to power it off and on again (a short outage), or state: stopped",
                            now["server_type"].as_str().unwrap_or("?")
                        )));
                    }
                    if running {
                        ops.push(Op::Action(id, "poweroff", json!({})));
                    }
                    ops.push(Op::Action(
                        id,
                        "change_type",
                        json!({"server_type": t, "upgrade_disk": args.bool("upgrade_disk")}),
                    ));
                    if running && state != "stopped" {
                        ops.push(Op::Action(id, "poweron", json!({})));
                    } else if running {
                        status = "off";
                        after.insert("status".into(), json!("off"));
                    }
                    after.insert("server_type".into(), json!(t));
                }
                if state == "rebuild" {
                    let image = args.string("image").ok_or_else(|| {
                        ModuleError::Failed(format!(
                            "hetzner_server: state=rebuild needs 'image' for '{name}'"
                        ))
                    })?;
                    after.insert("image".into(), json!(image));
                    after.insert("status".into(), json!("running (rebuilt)"));
                    ops.push(Op::Action(id, "rebuild", json!({"image": image})));
                }
                // Fields the API sets only at creation: reported, never silently ignored.
                let create_only: &[&str] = if state == "rebuild" {
                    &["location", "datacenter"]
                } else {
                    &["image", "location", "datacenter"]
                };
                for k in create_only.iter().copied() {
                    if let Some(want) = args
                        .string(k)
                        .filter(|w| Some(w.as_str()) != now[k].as_str())
                    {
                        notes.push(format!(
                            "{k} is {} (not {want}): it is set only when the server is created",
                            now[k].as_str().unwrap_or("unset")
                        ));
                    }
                }
                if let Some(l) =
                    labels(args.get("labels")).filter(|l| Some(l) != s["labels"].as_object())
                {
                    after.insert("labels".into(), Value::Object(l.clone()));
                    ops.push(Op::Update(id, json!({"labels": l})));
                }
                let power = match (state.as_str(), status) {
                    ("started", "off") => Some(("poweron", "running")),
                    ("stopped", "running") => Some(("poweroff", "off")),
                    ("restarted", "off") => Some(("poweron", "running")),
                    ("restarted", _) => Some(("reboot", "running (rebooted)")),
                    _ => None,
                };
                if let Some((action, new)) = power {
                    after.insert("status".into(), json!(new));
                    ops.push(Op::Action(id, action, json!({})));
                }
                let attached: Vec<u64> = s["private_net"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|p| p["network"].as_u64())
                    .collect();
                for (nid, n) in nets.iter().filter(|(nid, _)| !attached.contains(nid)) {
                    notes.push(format!("attaching it to network {n}"));
                    ops.push(Op::Action(id, "attach_to_network", json!({"network": nid})));
                }
            }
        }
        let mut result = ModuleResult::ok();
        if let Some(s) = &found {
            result = result.with("hcloud_server", registered(s, &nets));
        }
        let after = after_obj.map(|o| describe(&o, FIELDS)).unwrap_or_default();
        Ok(finish(
            ctx,
            label,
            result,
            notes,
            (before, after),
            ops,
            // The registered result also needs the network names.
            |ops| Work::custom(ServerCalls { ops, nets }),
        ))
    }
}

struct ServerCalls {
    ops: Vec<Op>,
    nets: Vec<(u64, String)>,
}

#[async_trait]
impl Apply for ServerCalls {
    async fn apply(
        self: Box<Self>,
        ctx: &ApplyContext<'_>,
        args: &Args,
        preview: ModuleResult,
    ) -> ModResult<ModuleResult> {
        let client = Client::from_args(args)?;
        let timeout = Duration::from_secs(args.int("timeout").unwrap_or(600).max(1) as u64);
        let ServerCalls { ops, nets } = *self;
        let name = args.string("name").unwrap_or_default();
        let s = run(&client, &KIND, ops, timeout, ctx.controller)
            .await
            .map_err(|e| match e {
                ModuleError::Failed(m) => ModuleError::Failed(format!("server '{name}': {m}")),
                other => other,
            })?;
        let s = s.as_object().cloned().unwrap_or_default();
        let value = if s.is_empty() {
            json!({})
        } else {
            registered(&s, &nets)
        };
        Ok(preview.with("hcloud_server", value))
    }
}
