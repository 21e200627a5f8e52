//! `hetzner_network` (hetzner.hcloud.network) with its `subnets`, and `hetzner_subnetwork`
//! (hetzner.hcloud.subnetwork) for one subnet, as the collection splits them.

use std::time::Duration;

use async_trait::async_trait;
use serde_json::{json, Map, Value};

use super::calls::{run, Kind, Op};
use super::resource::{finish, unknown, Notes, Resource, Update};
use super::{labels, API_ARGS};
use crate::clients::hetzner::{Client, Obj};
use crate::spec::{arg, ArgType::*, ModuleSpec};
use crate::{
    Apply, ApplyContext, Args, ModResult, Module, ModuleError, ModuleResult, Plan, PlanContext,
    Work,
};

#[derive(Clone)]
pub struct Network;
pub struct Subnetwork;

static NETWORK: ModuleSpec = ModuleSpec::new(
    "hetzner_network",
    "A private network: created when missing (found by name), subnets added, labels reconciled, or deleted.",
    &[
        arg("name", Str, "The network's name.").required(),
        arg("ip_range", Str, "e.g. 10.0.0.0/16; needed to create it."),
        arg(
            "subnets",
            List,
            "Subnets that must exist: {ip_range, network_zone (default eu-central), type (default cloud)}.",
        ),
        arg("labels", Dict, "Labels (key: value)."),
        arg("state", Str, "Whether the network should exist.")
            .default("\"present\"")
            .choices(&["present", "absent"]),
        API_ARGS[0],
        API_ARGS[1],
    ],
)
.also_known_as(&["hetzner.hcloud.network", "hetzner.hcloud.hcloud_network", "hcloud_network"]);

static SUBNETWORK: ModuleSpec = ModuleSpec::new(
    "hetzner_subnetwork",
    "One subnet of a private network.",
    &[
        arg("network", Str, "The network's name or ID.").required(),
        arg("ip_range", Str, "e.g. 10.0.1.0/24.").required(),
        arg("network_zone", Str, "e.g. eu-central.").default("\"eu-central\""),
        arg("type", Str, "Subnet type.")
            .default("\"cloud\"")
            .choices(&["cloud", "server", "vswitch"]),
        arg("vswitch_id", Int, "For type vswitch."),
        arg("state", Str, "Whether the subnet should exist.")
            .default("\"present\"")
            .choices(&["present", "absent"]),
        API_ARGS[0],
        API_ARGS[1],
    ],
)
.also_known_as(&[
    "hetzner.hcloud.subnetwork",
    "hetzner.hcloud.hcloud_subnetwork",
    "hcloud_subnetwork",
]);

const WAIT: Duration = Duration::from_secs(300);

/// A subnet as the API takes it, with the collection's defaults.
fn subnet(v: &Value) -> Value {
    let s = |k: &str, d: &str| v.get(k).and_then(Value::as_str).unwrap_or(d).to_string();
    let mut o = json!({"type": s("type", "cloud"), "ip_range": s("ip_range", ""), "network_zone": s("network_zone", "eu-central")});
    if let Some(id) = v.get("vswitch_id").filter(|x| !x.is_null()) {
        o["vswitch_id"] = id.clone();
    }
    o
}

fn shown(net: &Map<String, Value>) -> Map<String, Value> {
    let mut m = net.clone();
    let net = &Value::Object(net.clone());
    let subnets: Vec<Value> = net["subnets"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            json!(format!(
                "{} {} {}",
                s["ip_range"].as_str().unwrap_or(""),
                s["network_zone"].as_str().unwrap_or(""),
                s["type"].as_str().unwrap_or("")
            ))
        })
        .collect();
    m.insert("subnets".into(), Value::Array(subnets));
    m
}

#[async_trait]
impl Resource for Network {
    type Refs = ();

    const KIND: Kind = Kind {
        path: "/networks",
        one: "network",
        what: "network",
    };
    const FIELDS: &'static [&'static str] = &["name", "ip_range", "subnets", "labels"];

    fn spec(&self) -> &'static ModuleSpec {
        &NETWORK
    }

    async fn refs(&self, _: &Client, _: &Args, _: &mut Notes) -> ModResult<()> {
        Ok(())
    }

    fn shown(&self, net: &Obj, _: &()) -> Map<String, Value> {
        shown(net)
    }

    async fn create(
        &self,
        _: &Client,
        args: &Args,
        _: &(),
        _: &mut Notes,
    ) -> ModResult<(Value, Map<String, Value>)> {
        let name = args.string("name").unwrap_or_default();
        let ip_range = args.string("ip_range").ok_or_else(|| {
            ModuleError::Failed(format!(
                "hetzner_network: 'ip_range' is needed to create the network '{name}'"
            ))
        })?;
        let mut body = json!({"name": name, "ip_range": ip_range, "subnets": want_subnets(args)});
        if let Some(l) = labels(args.get("labels")) {
            body["labels"] = Value::Object(l);
        }
        let shown = shown(body.as_object().expect("object"));
        Ok((body, shown))
    }

    /// Labels in place; a new ip_range and missing subnets by actions (subnets are only
    /// added: one the arguments leave out stays).
    fn update(&self, args: &Args, _: &(), u: &mut Update<'_>) -> ModResult<()> {
        let n = u.found;
        u.labels(args);
        if let Some(r) = args
            .string("ip_range")
            .filter(|r| Some(r.as_str()) != n["ip_range"].as_str())
        {
            u.now.insert("ip_range".into(), json!(r));
            u.action("change_ip_range", json!({"ip_range": r}));
        }
        let mut subnets = n["subnets"].as_array().cloned().unwrap_or_default();
        for s in want_subnets(args) {
            if !subnets.iter().any(|x| x["ip_range"] == s["ip_range"]) {
                subnets.push(s.clone());
                u.action("add_subnet", s);
            }
        }
        u.now.insert("subnets".into(), Value::Array(subnets));
        Ok(())
    }

    fn registered(&self, net: &Obj, _: &()) -> Value {
        json!({
            "id": net.get("id"),
            "name": net.get("name"),
            "ip_range": net.get("ip_range"),
            "subnetworks": net.get("subnets"),
            "routes": net.get("routes"),
            "expose_routes_to_vswitch": net.get("expose_routes_to_vswitch"),
            "delete_protection": net.get("protection").and_then(|p| p.get("delete")),
            "labels": net.get("labels"),
        })
    }

    fn planned(&self, _: &Args, body: &Value, _: &()) -> Value {
        json!({
            "id": unknown(),
            "name": body["name"],
            "ip_range": body["ip_range"],
            "subnetworks": body["subnets"],
            "routes": [],
            "expose_routes_to_vswitch": false,
            "delete_protection": false,
            "labels": body.get("labels").cloned().unwrap_or(json!({})),
        })
    }
}

fn want_subnets(args: &Args) -> Vec<Value> {
    args.list("subnets").iter().map(subnet).collect()
}

#[async_trait]
impl Module for Subnetwork {
    fn spec(&self) -> &'static ModuleSpec {
        &SUBNETWORK
    }

    async fn plan(&self, ctx: &PlanContext<'_>, args: &Args) -> ModResult<Plan> {
        let client = Client::from_args(args)?;
        let network = args.string("network").unwrap_or_default();
        let net = match network.parse::<u64>() {
            Ok(id) => client.get(&format!("/networks/{id}")).await?["network"]
                .as_object()
                .cloned()
                .map(Obj),
            Err(_) => client.find_by_name("/networks", &network).await?,
        };
        let Some(net) = net else {
            return Ok(Plan::Unknown {
                preview: ModuleResult::changed()
                    .with_msg(format!("network '{network}' does not exist yet")),
                reason: format!(
                    "hetzner_subnetwork: network '{network}' not found: create it first (hetzner_network)"
                ),
            });
        };
        let id = net["id"].as_u64().unwrap_or_default();
        let want = subnet(&Value::Object(args.0.clone()));
        let current = net["subnets"].as_array().cloned().unwrap_or_default();
        let exists = current.iter().any(|s| s["ip_range"] == want["ip_range"]);
        let absent = args.str("state") == Some("absent");
        let result = ModuleResult::ok().with("hcloud_subnetwork", json!({"network": net["name"], "ip_range": want["ip_range"], "network_zone": want["network_zone"], "type": want["type"]}));
        let op = match (exists, absent) {
            (false, false) => Op::Action(id, "add_subnet", want.clone()),
            (true, true) => Op::Action(id, "delete_subnet", json!({"ip_range": want["ip_range"]})),
            _ => return Ok(Plan::Done(result)),
        };
        let line = format!(
            "{} {} {}\n",
            want["ip_range"].as_str().unwrap_or(""),
            want["network_zone"].as_str().unwrap_or(""),
            want["type"].as_str().unwrap_or("")
        );
        let (before, after) = if absent {
            (line, String::new())
        } else {
            (String::new(), line)
        };
        let label = format!(
            "hetzner network {} subnet",
            net["name"].as_str().unwrap_or("")
        );
        Ok(finish(
            ctx,
            label,
            result,
            Notes::default(),
            (before, after),
            vec![op],
            |ops| Work::custom(SubnetCalls(ops)),
        ))
    }
}

/// A subnet is part of its network: its calls register nothing of their own.
struct SubnetCalls(Vec<Op>);

#[async_trait]
impl Apply for SubnetCalls {
    async fn apply(
        self: Box<Self>,
        ctx: &ApplyContext<'_>,
        args: &Args,
        preview: ModuleResult,
    ) -> ModResult<ModuleResult> {
        let client = Client::from_args(args)?;
        run(&client, &Network::KIND, self.0, WAIT, ctx.controller).await?;
        Ok(preview)
    }
}
