//! `hetzner_firewall` (hetzner.hcloud.firewall): rules and labels, and the servers or label
//! selectors it applies to (which the collection keeps in a separate module).

use async_trait::async_trait;
use serde_json::{json, Map, Value};

use super::calls::{Kind, Op};
use super::resource::{id, unknown, Notes, Resource, Update};
use super::{labels, API_ARGS};
use crate::clients::hetzner::{Client, Obj};
use crate::spec::{arg, ArgType::*, ModuleSpec};
use crate::{Args, ModResult};

#[derive(Clone)]
pub struct Firewall;

static SPEC: ModuleSpec = ModuleSpec::new(
    "hetzner_firewall",
    "A firewall: rules and labels reconciled, applied to servers or label selectors, or deleted.",
    &[
        arg("name", Str, "The firewall's name.").required(),
        arg(
            "rules",
            List,
            "Inbound/outbound rules: {direction: in|out, protocol: tcp|udp|icmp|esp|gre, port, \
             source_ips, destination_ips, description}. The firewall has exactly these.",
        ),
        arg("labels", Dict, "Labels (key: value)."),
        arg(
            "apply_to_servers",
            List,
            "Server names or IDs it must apply to.",
        ),
        arg(
            "apply_to_label_selectors",
            List,
            "Label selectors it must apply to, e.g. cluster=k8s.",
        ),
        arg("state", Str, "Whether the firewall should exist.")
            .default("\"present\"")
            .choices(&["present", "absent"]),
        API_ARGS[0],
        API_ARGS[1],
    ],
)
.also_known_as(&[
    "hetzner.hcloud.firewall",
    "hetzner.hcloud.hcloud_firewall",
    "hcloud_firewall",
]);

/// A rule as the API returns it, so wanted and existing rules compare field by field.
fn rule(r: &Value) -> Value {
    let ips = |k: &str| {
        let mut v: Vec<String> = r[k]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect();
        v.sort();
        v
    };
    let port = match &r["port"] {
        Value::Null => Value::Null,
        Value::String(s) => json!(s),
        other => json!(other.to_string()),
    };
    json!({
        "direction": r["direction"],
        "protocol": r["protocol"],
        "port": port,
        "source_ips": ips("source_ips"),
        "destination_ips": ips("destination_ips"),
        "description": r["description"],
    })
}

fn rules_of(v: &Value) -> Vec<Value> {
    let mut rules: Vec<Value> = v.as_array().into_iter().flatten().map(rule).collect();
    rules.sort_by_key(|r| r.to_string());
    rules
}

/// One line per rule and per resource, for --diff.
fn shown(fw: &Map<String, Value>) -> Map<String, Value> {
    let mut m = fw.clone();
    let fw = &Value::Object(fw.clone());
    let rules: Vec<Value> = rules_of(&fw["rules"])
        .iter()
        .map(|r| {
            json!(format!(
                "{} {} {} from {} to {}",
                r["direction"].as_str().unwrap_or(""),
                r["protocol"].as_str().unwrap_or(""),
                r["port"].as_str().unwrap_or("-"),
                r["source_ips"],
                r["destination_ips"]
            ))
        })
        .collect();
    m.insert("rules".into(), Value::Array(rules));
    m.insert(
        "applied_to".into(),
        Value::Array(fw["applied_to"].as_array().cloned().unwrap_or_default()),
    );
    m
}

/// The rules the arguments give, as the API returns them (None: rules not managed).
fn want_rules(args: &Args) -> Option<Vec<Value>> {
    args.get("rules")
        .map(|_| rules_of(&Value::Array(args.list("rules"))))
}

#[async_trait]
impl Resource for Firewall {
    /// What it must apply to, as the API writes resources.
    type Refs = Vec<Value>;

    const KIND: Kind = Kind {
        path: "/firewalls",
        one: "firewall",
        what: "firewall",
    };
    const FIELDS: &'static [&'static str] = &["name", "rules", "applied_to", "labels"];

    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn refs(&self, client: &Client, args: &Args, notes: &mut Notes) -> ModResult<Vec<Value>> {
        let name = args.string("name").unwrap_or_default();
        let mut apply_to = vec![];
        for s in args.strings("apply_to_servers") {
            let id = match s.parse::<u64>() {
                Ok(id) => Some(id),
                Err(_) => client
                    .find_by_name("/servers", &s)
                    .await?
                    .and_then(|o| o["id"].as_u64()),
            };
            match id {
                Some(id) => apply_to.push(json!({"type": "server", "server": {"id": id}})),
                None => notes.missing(
                    format!("server '{s}' does not exist yet"),
                    format!(
                        "hetzner_firewall: server '{s}' not found, so '{name}' cannot apply to it"
                    ),
                ),
            }
        }
        for sel in args.strings("apply_to_label_selectors") {
            apply_to.push(json!({"type": "label_selector", "label_selector": {"selector": sel}}));
        }
        Ok(apply_to)
    }

    fn shown(&self, fw: &Obj, _: &Vec<Value>) -> Map<String, Value> {
        shown(fw)
    }

    async fn create(
        &self,
        _: &Client,
        args: &Args,
        apply_to: &Vec<Value>,
        _: &mut Notes,
    ) -> ModResult<(Value, Map<String, Value>)> {
        let name = args.string("name").unwrap_or_default();
        let mut body = json!({"name": name, "rules": want_rules(args).unwrap_or_default(), "apply_to": apply_to});
        if let Some(l) = labels(args.get("labels")) {
            body["labels"] = Value::Object(l);
        }
        let mut shown_new = body.as_object().cloned().unwrap_or_default();
        shown_new.insert("applied_to".into(), body["apply_to"].clone());
        Ok((body, shown(&shown_new)))
    }

    /// Rules set by an action (the firewall has exactly those), labels in place, resources
    /// it must apply to added by an action (others stay).
    fn update(&self, args: &Args, apply_to: &Vec<Value>, u: &mut Update<'_>) -> ModResult<()> {
        let f = u.found;
        if let Some(r) = want_rules(args).filter(|r| *r != rules_of(&f["rules"])) {
            u.now.insert("rules".into(), Value::Array(r.clone()));
            u.action("set_rules", json!({"rules": r}));
        }
        u.labels(args);
        let applied = strip(&f["applied_to"].as_array().cloned().unwrap_or_default());
        let missing: Vec<Value> = apply_to
            .iter()
            .filter(|a| !applied.contains(a))
            .cloned()
            .collect();
        if !missing.is_empty() {
            let mut all = applied.clone();
            all.extend(missing.iter().cloned());
            u.now.insert("applied_to".into(), Value::Array(all));
            u.action("apply_to_resources", json!({"apply_to": missing}));
        }
        Ok(())
    }

    /// Taken off its resources first: the API refuses to delete a firewall in use.
    fn delete(&self, f: &Obj) -> Vec<Op> {
        let mut ops = vec![];
        let applied = f["applied_to"].as_array().cloned().unwrap_or_default();
        if !applied.is_empty() {
            ops.push(Op::Action(
                id(f),
                "remove_from_resources",
                json!({"remove_from": strip(&applied)}),
            ));
        }
        ops.push(Op::Delete(id(f)));
        ops
    }

    fn registered(&self, fw: &Obj, _: &Vec<Value>) -> Value {
        json!({"id": fw.get("id"), "name": fw.get("name"), "rules": fw.get("rules"), "labels": fw.get("labels"), "applied_to": fw.get("applied_to")})
    }

    fn planned(&self, _: &Args, body: &Value, _: &Vec<Value>) -> Value {
        json!({"id": unknown(), "name": body["name"], "rules": body["rules"], "labels": body.get("labels").cloned().unwrap_or(json!({})), "applied_to": body["apply_to"]})
    }
}

/// Applied resources as the API takes them back (without the resources a selector matched).
fn strip(applied: &[Value]) -> Vec<Value> {
    applied
        .iter()
        .map(|a| match a["type"].as_str() {
            Some("server") => json!({"type": "server", "server": {"id": a["server"]["id"]}}),
            _ => json!({"type": a["type"], "label_selector": {"selector": a["label_selector"]["selector"]}}),
        })
        .collect()
}
