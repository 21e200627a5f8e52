//! `hetzner_load_balancer` (hetzner.hcloud.load_balancer): the load balancer and, in one
//! task, what the collection spreads over three more modules: its TCP services, its targets
//! (label selectors or servers) and its private network. This is the highly available
//! Kubernetes API endpoint (port 6443 to every control-plane server).

use async_trait::async_trait;
use serde_json::{json, Map, Value};

use super::calls::Kind;
use super::resource::{unknown, Notes, Resource, Update};
use super::{labels, API_ARGS};
use crate::clients::hetzner::{Client, Obj};
use crate::spec::{arg, ArgType::*, ModuleSpec};
use crate::{Args, ModResult, ModuleError};

#[derive(Clone)]
pub struct LoadBalancer;

/// Its private network and its targets, by ID.
pub struct Refs {
    nets: Vec<(u64, String)>,
    targets: Vec<Value>,
}

static SPEC: ModuleSpec = ModuleSpec::new(
    "hetzner_load_balancer",
    "A load balancer with its services, targets and private network, found by name.",
    &[
        arg("name", Str, "The load balancer's name.").required(),
        arg("load_balancer_type", Str, "e.g. lb11; needed to create it."),
        arg("location", Str, "e.g. fsn1 (or network_zone)."),
        arg("network_zone", Str, "e.g. eu-central (or location)."),
        arg("algorithm", Str, "Balancing algorithm.")
            .default("\"round_robin\"")
            .choices(&["round_robin", "least_connections"]),
        arg(
            "services",
            List,
            "Services that must exist: {protocol: tcp, listen_port, destination_port, proxyprotocol}.",
        ),
        arg(
            "targets",
            List,
            "Targets that must exist: {label_selector: 'role=control-plane'} or {server: name}, \
             with use_private_ip.",
        ),
        arg("network", Str, "Private network (name or ID) to attach it to."),
        arg("public_interface", Bool, "Whether it has a public address.").default("true"),
        arg("labels", Dict, "Labels (key: value)."),
        arg("state", Str, "Whether it should exist.")
            .default("\"present\"")
            .choices(&["present", "absent"]),
        API_ARGS[0],
        API_ARGS[1],
    ],
)
.exclusive(&[&["location", "network_zone"]])
.also_known_as(&["hetzner.hcloud.load_balancer", "hetzner.hcloud.hcloud_load_balancer", "hcloud_load_balancer"]);

fn service(v: &Value) -> Value {
    let port = v["listen_port"].clone();
    json!({
        "protocol": v["protocol"].as_str().unwrap_or("tcp"),
        "listen_port": port,
        "destination_port": if v["destination_port"].is_null() { port } else { v["destination_port"].clone() },
        "proxyprotocol": v["proxyprotocol"].as_bool().unwrap_or(false),
    })
}

/// The parts of a target that say which it is.
fn target_key(t: &Value) -> Value {
    json!({"type": t["type"], "label_selector": t["label_selector"]["selector"], "server": t["server"]["id"], "use_private_ip": t["use_private_ip"].as_bool().unwrap_or(false)})
}

fn shown(lb: &Map<String, Value>, nets: &[(u64, String)]) -> Map<String, Value> {
    // Indexing a Value (not the Map) gives null for what a planned object lacks.
    let lb = &Value::Object(lb.clone());
    let mut m = Map::new();
    m.insert("name".into(), lb["name"].clone());
    m.insert(
        "load_balancer_type".into(),
        lb["load_balancer_type"]["name"].clone(),
    );
    m.insert("location".into(), lb["location"]["name"].clone());
    let services: Vec<Value> = lb["services"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            json!(format!(
                "{} {} -> {}",
                s["protocol"].as_str().unwrap_or(""),
                s["listen_port"],
                s["destination_port"]
            ))
        })
        .collect();
    m.insert("services".into(), Value::Array(services));
    let targets: Vec<Value> = lb["targets"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| match t["type"].as_str() {
            Some("label_selector") => json!(format!(
                "label_selector {}",
                t["label_selector"]["selector"].as_str().unwrap_or("")
            )),
            _ => json!(format!("server {}", t["server"]["id"])),
        })
        .collect();
    m.insert("targets".into(), Value::Array(targets));
    let networks: Vec<Value> = lb["private_net"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            let id = p["network"].as_u64().unwrap_or_default();
            json!(nets
                .iter()
                .find(|(n, _)| *n == id)
                .map(|(_, name)| name.clone())
                .unwrap_or_else(|| id.to_string()))
        })
        .collect();
    m.insert("networks".into(), Value::Array(networks));
    m.insert("labels".into(), lb["labels"].clone());
    m
}

fn registered(lb: &Obj) -> Value {
    json!({
        "id": lb.get("id"),
        "name": lb.get("name"),
        "ipv4_address": lb.get("public_net").map(|p| p["ipv4"]["ip"].clone()),
        "ipv6_address": lb.get("public_net").map(|p| p["ipv6"]["ip"].clone()),
        "private_ipv4": lb.get("private_net").and_then(|p| p.get(0)).map(|p| p["ip"].clone()),
        "load_balancer_type": lb.get("load_balancer_type").map(|t| t["name"].clone()),
        "location": lb.get("location").map(|l| l["name"].clone()),
        "algorithm": lb.get("algorithm").map(|a| a["type"].clone()),
        "labels": lb.get("labels"),
        "delete_protection": lb.get("protection").map(|p| p["delete"].clone()),
    })
}

fn services(args: &Args) -> Vec<Value> {
    args.list("services").iter().map(service).collect()
}

#[async_trait]
impl Resource for LoadBalancer {
    type Refs = Refs;

    const KIND: Kind = Kind {
        path: "/load_balancers",
        one: "load_balancer",
        what: "load balancer",
    };
    const FIELDS: &'static [&'static str] = &[
        "name",
        "load_balancer_type",
        "location",
        "services",
        "targets",
        "networks",
        "labels",
    ];

    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn refs(&self, client: &Client, args: &Args, notes: &mut Notes) -> ModResult<Refs> {
        let mut nets = vec![];
        if let Some(n) = args.string("network") {
            match n.parse::<u64>() {
                Ok(id) => nets.push((id, n)),
                Err(_) => match client.find_by_name("/networks", &n).await? {
                    Some(net) => nets.push((net["id"].as_u64().unwrap_or_default(), n)),
                    None => notes.missing(
                        format!("network '{n}' does not exist yet"),
                        format!("hetzner_load_balancer: network '{n}' not found: create it first (hetzner_network)"),
                    ),
                },
            }
        }
        let mut targets = vec![];
        for t in args.list("targets") {
            let private = t["use_private_ip"].as_bool().unwrap_or(!nets.is_empty());
            if let Some(sel) = t["label_selector"].as_str() {
                targets.push(json!({"type": "label_selector", "label_selector": {"selector": sel}, "use_private_ip": private}));
            } else if let Some(server) = t["server"]
                .as_str()
                .map(str::to_string)
                .or_else(|| t["server"].as_u64().map(|i| i.to_string()))
            {
                let id = match server.parse::<u64>() {
                    Ok(id) => Some(id),
                    Err(_) => client
                        .find_by_name("/servers", &server)
                        .await?
                        .and_then(|s| s["id"].as_u64()),
                };
                match id {
                    Some(id) => targets.push(
                        json!({"type": "server", "server": {"id": id}, "use_private_ip": private}),
                    ),
                    None => notes.missing(
                        format!("server '{server}' does not exist yet"),
                        format!("hetzner_load_balancer: target server '{server}' not found"),
                    ),
                }
            } else {
                return Err(ModuleError::Failed(
                    "hetzner_load_balancer: a target needs label_selector or server".into(),
                ));
            }
        }
        Ok(Refs { nets, targets })
    }

    fn shown(&self, lb: &Obj, refs: &Refs) -> Map<String, Value> {
        shown(lb, &refs.nets)
    }

    async fn create(
        &self,
        _: &Client,
        args: &Args,
        refs: &Refs,
        _: &mut Notes,
    ) -> ModResult<(Value, Map<String, Value>)> {
        let (nets, targets) = (&refs.nets, &refs.targets);
        let name = args.string("name").unwrap_or_default();
        let lb_type = args.string("load_balancer_type").ok_or_else(|| {
            ModuleError::Failed(format!(
                "hetzner_load_balancer: 'load_balancer_type' is needed to create '{name}'"
            ))
        })?;
        if args.get("location").is_none() && args.get("network_zone").is_none() {
            return Err(ModuleError::Failed(format!(
                "hetzner_load_balancer: 'location' or 'network_zone' is needed to create '{name}'"
            )));
        }
        let mut body = json!({
            "name": name,
            "load_balancer_type": lb_type,
            "algorithm": {"type": args.string("algorithm").unwrap_or_else(|| "round_robin".into())},
            "services": services(args),
            "targets": targets,
            "public_interface": args.bool("public_interface"),
        });
        for k in ["location", "network_zone"] {
            if let Some(v) = args.string(k) {
                body[k] = json!(v);
            }
        }
        if let Some((id, _)) = nets.first() {
            body["network"] = json!(id);
        }
        if let Some(l) = labels(args.get("labels")) {
            body["labels"] = Value::Object(l);
        }
        // Shown as the API would return it.
        let mut lb = body.as_object().cloned().unwrap_or_default();
        lb.insert(
            "load_balancer_type".into(),
            json!({"name": body["load_balancer_type"]}),
        );
        lb.insert(
            "location".into(),
            json!({"name": body.get("location").cloned().unwrap_or(Value::Null)}),
        );
        lb.insert(
            "private_net".into(),
            json!(nets
                .iter()
                .map(|(id, _)| json!({"network": id}))
                .collect::<Vec<_>>()),
        );
        let shown = shown(&lb, nets);
        Ok((body, shown))
    }

    /// Services and targets added or changed by actions (others stay), the network attached,
    /// labels in place; its type and location are set at creation only.
    fn update(&self, args: &Args, refs: &Refs, u: &mut Update<'_>) -> ModResult<()> {
        let l = u.found;
        let have: Vec<Value> = l["services"].as_array().cloned().unwrap_or_default();
        let mut svc_now = have.clone();
        for s in services(args) {
            match have
                .iter()
                .position(|h| h["listen_port"] == s["listen_port"])
            {
                None => {
                    svc_now.push(s.clone());
                    u.action("add_service", s);
                }
                Some(i) if service(&have[i]) != s => {
                    svc_now[i] = s.clone();
                    u.action("update_service", s);
                }
                Some(_) => {}
            }
        }
        u.now.insert("services".into(), Value::Array(svc_now));
        let have_targets: Vec<Value> = l["targets"]
            .as_array()
            .into_iter()
            .flatten()
            .map(target_key)
            .collect();
        let mut t_now = l["targets"].as_array().cloned().unwrap_or_default();
        for t in refs
            .targets
            .iter()
            .filter(|t| !have_targets.contains(&target_key(t)))
        {
            t_now.push(t.clone());
            u.action("add_target", t.clone());
        }
        u.now.insert("targets".into(), Value::Array(t_now));
        let attached: Vec<u64> = l["private_net"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p["network"].as_u64())
            .collect();
        if let Some((nid, _)) = refs.nets.iter().find(|(nid, _)| !attached.contains(nid)) {
            let mut p = l["private_net"].as_array().cloned().unwrap_or_default();
            p.push(json!({"network": nid}));
            u.now.insert("private_net".into(), Value::Array(p));
            u.action("attach_to_network", json!({"network": nid}));
        }
        u.labels(args);
        for k in ["load_balancer_type", "location"] {
            u.create_only(k, args.string(k), &l[k]["name"]);
        }
        Ok(())
    }

    fn registered(&self, lb: &Obj, _: &Refs) -> Value {
        registered(lb)
    }

    fn planned(&self, args: &Args, body: &Value, _: &Refs) -> Value {
        let public = args.bool("public_interface");
        let address = |on: bool| if on { unknown() } else { Value::Null };
        json!({
            "id": unknown(),
            "name": body["name"],
            "ipv4_address": address(public),
            "ipv6_address": address(public),
            "private_ipv4": address(args.get("network").is_some()),
            "load_balancer_type": body["load_balancer_type"],
            "location": body.get("location").cloned().unwrap_or_else(unknown),
            "algorithm": body["algorithm"]["type"],
            "labels": body.get("labels").cloned().unwrap_or(json!({})),
            "delete_protection": false,
        })
    }
}
