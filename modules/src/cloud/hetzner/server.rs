//! `hetzner_server` (hetzner.hcloud.server): a server found by name, created only when
//! missing, labels and power state reconciled, and registered with the collection's keys
//! (`hcloud_server.ipv4_address`, ...) so the next play can reach it.

use std::time::Duration;

use async_trait::async_trait;
use serde_json::{json, Map, Value};

use super::calls::Kind;
use super::resource::{unknown, Notes, Resource, Update};
use super::{labels, API_ARGS};
use crate::clients::hetzner::{location, Client, Obj};
use crate::spec::{arg, ArgType::*, ModuleSpec};
use crate::{Args, ModResult, ModuleError};

#[derive(Clone)]
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
impl Resource for Server {
    /// Its networks by (id, name): the registered result names them.
    type Refs = Vec<(u64, String)>;

    const KIND: Kind = Kind {
        path: "/servers",
        one: "server",
        what: "server",
    };
    const FIELDS: &'static [&'static str] = &[
        "name",
        "server_type",
        "image",
        "location",
        "datacenter",
        "status",
        "labels",
    ];

    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn refs(
        &self,
        client: &Client,
        args: &Args,
        notes: &mut Notes,
    ) -> ModResult<Vec<(u64, String)>> {
        networks(client, args, notes).await
    }

    fn shown(&self, s: &Obj, _: &Vec<(u64, String)>) -> Map<String, Value> {
        flat(s)
    }

    async fn create(
        &self,
        client: &Client,
        args: &Args,
        nets: &Vec<(u64, String)>,
        notes: &mut Notes,
    ) -> ModResult<(Value, Map<String, Value>)> {
        let name = args.string("name").unwrap_or_default();
        let state = args.string("state").unwrap_or_else(|| "present".into());
        let (Some(server_type), Some(image)) = (args.string("server_type"), args.string("image"))
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
        let firewalls = ids(client, "/firewalls", &args.strings("firewalls"), notes).await?;
        if !firewalls.is_empty() {
            body["firewalls"] = json!(firewalls
                .iter()
                .map(|id| json!({"firewall": id}))
                .collect::<Vec<_>>());
        }
        let group: Vec<String> = args.string("placement_group").into_iter().collect();
        if let Some(g) = ids(client, "/placement_groups", &group, notes)
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
        Ok((body, shown))
    }

    /// A new server_type by actions, with the server off (force powers it off and on again);
    /// `state` by power actions (rebuild reinstalls); labels in place; networks attached by
    /// an action; image, location and datacenter set at creation only.
    fn update(&self, args: &Args, nets: &Vec<(u64, String)>, u: &mut Update<'_>) -> ModResult<()> {
        let s = u.found;
        let name = args.string("name").unwrap_or_default();
        let state = args.string("state").unwrap_or_else(|| "present".into());
        let now = flat(s);
        let mut status = s["status"].as_str().unwrap_or("");
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
                u.action("poweroff", json!({}));
            }
            u.action(
                "change_type",
                json!({"server_type": t, "upgrade_disk": args.bool("upgrade_disk")}),
            );
            if running && state != "stopped" {
                u.action("poweron", json!({}));
            } else if running {
                status = "off";
                u.now.insert("status".into(), json!("off"));
            }
            u.now.insert("server_type".into(), json!({ "name": t }));
        }
        if state == "rebuild" {
            let image = args.string("image").ok_or_else(|| {
                ModuleError::Failed(format!(
                    "hetzner_server: state=rebuild needs 'image' for '{name}'"
                ))
            })?;
            u.now.insert("image".into(), json!({ "name": image }));
            u.now.insert("status".into(), json!("running (rebuilt)"));
            u.action("rebuild", json!({ "image": image }));
        }
        let create_only: &[&str] = if state == "rebuild" {
            &["location", "datacenter"]
        } else {
            &["image", "location", "datacenter"]
        };
        for k in create_only.iter().copied() {
            u.create_only(k, args.string(k), &now[k]);
        }
        u.labels(args);
        let power = match (state.as_str(), status) {
            ("started", "off") => Some(("poweron", "running")),
            ("stopped", "running") => Some(("poweroff", "off")),
            ("restarted", "off") => Some(("poweron", "running")),
            ("restarted", _) => Some(("reboot", "running (rebooted)")),
            _ => None,
        };
        if let Some((action, new)) = power {
            u.now.insert("status".into(), json!(new));
            u.action(action, json!({}));
        }
        let attached: Vec<u64> = s["private_net"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p["network"].as_u64())
            .collect();
        for (nid, n) in nets.iter().filter(|(nid, _)| !attached.contains(nid)) {
            u.notes.push(format!("attaching it to network {n}"));
            u.action("attach_to_network", json!({ "network": nid }));
        }
        Ok(())
    }

    fn registered(&self, s: &Obj, nets: &Vec<(u64, String)>) -> Value {
        registered(s, nets)
    }

    /// Its addresses, ID and status only the API can tell.
    fn planned(&self, args: &Args, body: &Value, _: &Vec<(u64, String)>) -> Value {
        let address = |on: &str| {
            if args.bool(on) {
                unknown()
            } else {
                Value::Null
            }
        };
        // Every network the arguments name, also those an earlier task would create.
        let networks = args.strings("networks");
        json!({
            "id": unknown(),
            "name": body["name"],
            "status": unknown(),
            "server_type": body["server_type"],
            "image": body["image"],
            "location": body.get("location").cloned().unwrap_or_else(unknown),
            "datacenter": body.get("datacenter").cloned().unwrap_or_else(unknown),
            "ipv4_address": address("enable_ipv4"),
            "ipv6": address("enable_ipv6"),
            "private_networks": networks,
            "private_networks_info": networks.iter().map(|n| json!({"name": n, "ip": unknown()})).collect::<Vec<_>>(),
            "labels": body.get("labels").cloned().unwrap_or(json!({})),
            "rescue_enabled": false,
            "backup_window": null,
            "delete_protection": false,
            "rebuild_protection": false,
            "placement_group": args.string("placement_group").map(|g| json!({"id": unknown(), "name": g})),
            "created": unknown(),
        })
    }

    fn timeout(&self, args: &Args) -> Duration {
        Duration::from_secs(args.int("timeout").unwrap_or(600).max(1) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::KNOWN_AFTER_APPLY;

    #[test]
    fn a_server_not_created_yet_registers_what_only_the_api_tells_as_unknown() {
        let args = json!({"name": "w-1", "server_type": "cx22", "image": "debian-12",
                          "enable_ipv4": true, "enable_ipv6": false, "networks": ["k8s"]});
        let args = Args(args.as_object().cloned().unwrap());
        let body = json!({"name": "w-1", "server_type": "cx22", "image": "debian-12"});
        let p = Server.planned(&args, &body, &vec![]);
        assert_eq!(p["ipv4_address"], KNOWN_AFTER_APPLY);
        assert_eq!(
            p["ipv6"],
            Value::Null,
            "no IPv6 asked for: known to be none"
        );
        assert_eq!(
            p["private_networks_info"],
            json!([{"name": "k8s", "ip": KNOWN_AFTER_APPLY}])
        );
        assert_eq!(
            (&p["id"], &p["status"]),
            (&json!(KNOWN_AFTER_APPLY), &json!(KNOWN_AFTER_APPLY))
        );
        assert_eq!(
            (&p["name"], &p["server_type"]),
            (&json!("w-1"), &json!("cx22"))
        );
        assert_eq!(p["location"], KNOWN_AFTER_APPLY, "the API picks it");
    }
}
