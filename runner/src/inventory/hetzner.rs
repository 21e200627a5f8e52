//! The Hetzner Cloud inventory source: a YAML file with `plugin: hetzner` (or Ansible's
//! `hetzner.hcloud.hcloud`) lists the project's servers as hosts, with Ansible's option and
//! variable names (`label_selector`, `status`, `connect_with`, `keyed_groups`; `hcloud_*`).

use std::path::Path;

use serde_json::{json, Map, Value};

use super::Inventory;
use crate::diag::Diagnostic;
use crate::yaml::Node;
use timonel_modules::clients::hetzner::{location, Client};

pub const PLUGIN_NAMES: &[&str] = &["hetzner", "hetzner.hcloud.hcloud", "hcloud"];

const OPTIONS: &[&str] = &[
    "plugin",
    "token",
    "api_token",
    "endpoint",
    "api_endpoint",
    "label_selector",
    "status",
    "locations",
    "types",
    "images",
    "connect_with",
    "network",
    "group",
    "keyed_groups",
];

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => vec![],
    }
}

/// `a.b.c` in a host's variables (`labels.role` also finds `hcloud_labels.role`).
fn lookup<'a>(vars: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    let mut parts = path.split('.');
    let first = parts.next()?;
    let mut v = vars
        .get(first)
        .or_else(|| vars.get(&format!("hcloud_{first}")))?;
    for p in parts {
        v = v.get(p)?;
    }
    Some(v)
}

/// A group name from a value, as Ansible makes them (anything but letters, digits, _ -> _).
fn group_name(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn host_vars(
    s: &Value,
    connect_with: &str,
    network: Option<&str>,
    nets: &[(u64, String)],
) -> Result<Map<String, Value>, String> {
    let ipv6_net = s["public_net"]["ipv6"]["ip"].as_str().unwrap_or("");
    let ipv6 = ipv6_net
        .split('/')
        .next()
        .filter(|p| !p.is_empty())
        .map(|p| format!("{p}1"));
    let private: Vec<&Value> = s["private_net"].as_array().into_iter().flatten().collect();
    let on_network = |p: &&&Value| match network {
        None => true,
        Some(n) => p["network"].as_u64().is_some_and(|id| {
            id.to_string() == n || nets.iter().any(|(i, name)| *i == id && name == n)
        }),
    };
    let private_ip = private
        .iter()
        .find(on_network)
        .and_then(|p| p["ip"].as_str());
    let name = s["name"].as_str().unwrap_or_default();
    let host = match connect_with {
        "public_ipv4" => s["public_net"]["ipv4"]["ip"].as_str().map(str::to_string),
        "public_ipv6" => ipv6.clone(),
        "private_ipv4" => private_ip.map(str::to_string),
        "hostname" => Some(name.to_string()),
        "ipv4_dns_ptr" => s["public_net"]["ipv4"]["dns_ptr"].as_str().map(str::to_string),
        other => return Err(format!("connect_with: '{other}' is not one of public_ipv4, public_ipv6, private_ipv4, hostname, ipv4_dns_ptr")),
    };
    let host = host.ok_or_else(|| {
        format!("server '{name}' has no address for connect_with: {connect_with}")
    })?;
    let vars = json!({
        "ansible_host": host,
        "hcloud_id": s["id"],
        "hcloud_name": name,
        "hcloud_status": s["status"],
        "hcloud_server_type": s["server_type"]["name"],
        "hcloud_image_name": s["image"]["name"],
        "hcloud_image_os_flavor": s["image"]["os_flavor"],
        "hcloud_location": location(s),
        "hcloud_datacenter": s["datacenter"]["name"],
        "hcloud_labels": s["labels"],
        "hcloud_ipv4": s["public_net"]["ipv4"]["ip"],
        "hcloud_ipv6": ipv6,
        "hcloud_ipv6_network": if ipv6_net.is_empty() { Value::Null } else { json!(ipv6_net) },
        "hcloud_private_ipv4": private_ip,
    });
    Ok(vars.as_object().cloned().unwrap_or_default())
}

/// Reads the servers (all pages) on a thread of its own: inventories load before the run's
/// runtime exists, and may be loaded inside it too.
fn fetch(
    client: Client,
    filters: Vec<(&'static str, String)>,
) -> Result<(Vec<Value>, Vec<Value>), String> {
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        rt.block_on(async {
            let servers = client
                .list("/servers", &filters)
                .await
                .map_err(|e| e.to_string())?;
            let networks = client
                .list("/networks", &[])
                .await
                .map_err(|e| e.to_string())?;
            Ok((servers, networks))
        })
    })
    .join()
    .map_err(|_| "the Hetzner API thread panicked".to_string())?
}

pub fn load(inv: &mut Inventory, doc: &Node, path: &Path) -> Result<(), Diagnostic> {
    let opts = doc.to_json();
    let opts = opts.as_object().cloned().unwrap_or_default();
    if let Some((k, _)) = doc
        .as_map()
        .into_iter()
        .flatten()
        .find(|(k, _)| !OPTIONS.contains(&k.scalar_text().unwrap_or_default().as_str()))
    {
        let key = k.scalar_text().unwrap_or_default();
        let hint = timonel_modules::spec::suggest(&key, OPTIONS.iter().copied())
            .map(|s| format!("did you mean '{s}'?"))
            .unwrap_or_else(|| format!("the options are: {}", OPTIONS.join(", ")));
        return Err(Diagnostic::at(
            &k.pos,
            format!("unknown option '{key}' for the hetzner inventory"),
        )
        .help(hint));
    }
    let option = |k: &str, alias: &str| {
        opts.get(k)
            .or_else(|| opts.get(alias))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let where_ = path.display();
    let client = Client::new(
        option("api_token", "token"),
        option("api_endpoint", "endpoint"),
    )
    .map_err(|e| Diagnostic::plain(format!("{where_}: {e}")))?;
    let mut filters = vec![];
    if let Some(sel) = opts.get("label_selector").and_then(Value::as_str) {
        filters.push(("label_selector", sel.to_string()));
    }
    for st in strings(opts.get("status")) {
        filters.push(("status", st));
    }
    let (servers, networks) = fetch(client, filters).map_err(|e| {
        Diagnostic::plain(format!(
            "{where_}: cannot list the Hetzner Cloud servers: {e}"
        ))
        .help("check HCLOUD_TOKEN (or token:) and HCLOUD_ENDPOINT")
    })?;
    let nets: Vec<(u64, String)> = networks
        .iter()
        .map(|n| {
            (
                n["id"].as_u64().unwrap_or_default(),
                n["name"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let connect_with = opts
        .get("connect_with")
        .and_then(Value::as_str)
        .unwrap_or("public_ipv4");
    let network = opts.get("network").and_then(Value::as_str);
    let group = opts
        .get("group")
        .and_then(Value::as_str)
        .unwrap_or("hcloud")
        .to_string();
    let (locations, types, images) = (
        strings(opts.get("locations")),
        strings(opts.get("types")),
        strings(opts.get("images")),
    );
    let keep = |list: &[String], v: &Value| {
        list.is_empty() || v.as_str().is_some_and(|s| list.iter().any(|x| x == s))
    };
    for s in &servers {
        if !keep(&locations, &location(s))
            || !keep(&types, &s["server_type"]["name"])
            || !keep(&images, &s["image"]["name"])
        {
            continue;
        }
        let name = s["name"].as_str().unwrap_or_default().to_string();
        let vars = host_vars(s, connect_with, network, &nets)
            .map_err(|e| Diagnostic::plain(format!("{where_}: {e}")))?;
        inv.add_host(&name, &group);
        for kg in opts
            .get("keyed_groups")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(key) = kg.get("key").and_then(Value::as_str) else {
                continue;
            };
            let prefix = kg.get("prefix").and_then(Value::as_str).unwrap_or("");
            let sep = kg.get("separator").and_then(Value::as_str).unwrap_or("_");
            let values = match lookup(&vars, key) {
                Some(Value::Object(m)) => m
                    .iter()
                    .map(|(k, v)| format!("{k}_{}", v.as_str().unwrap_or_default()))
                    .collect(),
                Some(Value::Array(a)) => a
                    .iter()
                    .map(|v| {
                        v.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| v.to_string())
                    })
                    .collect(),
                Some(Value::Null) | None => vec![],
                Some(v) => vec![v
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| v.to_string())],
            };
            for v in values {
                let g = if prefix.is_empty() {
                    group_name(&v)
                } else {
                    group_name(&format!("{prefix}{sep}{v}"))
                };
                inv.add_host(&name, &g);
            }
        }
        if let Some(h) = inv.hosts.get_mut(&name) {
            super::merge(&mut h.vars, &vars);
        }
    }
    Ok(())
}
