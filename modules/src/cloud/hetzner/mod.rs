//! Hetzner Cloud (https://api.hetzner.cloud/v1): one generic resource module
//! ([`resource::Hcloud`]) and one description per kind of resource; the API client is
//! `crate::clients::hetzner`. Names and arguments follow the hetzner.hcloud collection, so
//! its playbooks run unchanged; the registered results carry the same keys.

pub mod calls;
pub mod firewall;
pub mod load_balancer;
pub mod network;
pub mod placement_group;
pub mod resource;
pub mod server;
pub mod ssh_key;

pub use resource::Hcloud;

use serde_json::{Map, Value};

use crate::spec::{arg, ArgSpec, ArgType::*};

/// The arguments every hetzner_* module takes.
pub const API_ARGS: [ArgSpec; 2] = [
    arg(
        "api_token",
        Str,
        "API token (default: $HCLOUD_TOKEN); never printed.",
    )
    .aliases(&["token"]),
    arg(
        "api_endpoint",
        Str,
        "API endpoint (default: $HCLOUD_ENDPOINT, else https://api.hetzner.cloud/v1).",
    )
    .aliases(&["endpoint"]),
];

/// Labels as the API keeps them: string values.
pub fn labels(v: Option<&Value>) -> Option<Map<String, Value>> {
    v.and_then(Value::as_object).map(|m| {
        m.iter()
            .map(|(k, v)| {
                let s = v
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| v.to_string());
                (k.clone(), Value::String(s))
            })
            .collect()
    })
}

/// A resource as `--diff` shows it: one `field: value` line each, in the given order.
pub fn describe(obj: &Map<String, Value>, fields: &[&str]) -> String {
    fields
        .iter()
        .filter_map(|f| obj.get(*f).map(|v| format!("{f}: {v}\n")))
        .collect()
}
