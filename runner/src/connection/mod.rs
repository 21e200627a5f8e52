//! Transports. Modules only see `modules::Connection` (run a shell command); this folder
//! decides, per host, which transport implements it.

mod local;

use std::sync::Arc;

use modules::Connection;
use serde_json::{Map, Value};

pub use local::LocalConnection;

/// How to reach a host, from its `ansible_*` variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub kind: String,
    pub address: String,
    pub port: Option<u16>,
    pub user: Option<String>,
}

impl Target {
    pub fn from_vars(
        host: &str,
        vars: &Map<String, Value>,
        implicit_local: bool,
        forced: Option<&str>,
    ) -> Target {
        let s = |k: &str| {
            vars.get(k).and_then(|v| match v {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
        };
        let kind = forced
            .map(str::to_string)
            .or_else(|| s("ansible_connection"))
            .unwrap_or_else(|| {
                if implicit_local {
                    "local".into()
                } else {
                    "ssh".into()
                }
            });
        Target {
            kind,
            address: s("ansible_host")
                .or_else(|| s("ansible_ssh_host"))
                .unwrap_or_else(|| host.to_string()),
            port: s("ansible_port")
                .or_else(|| s("ansible_ssh_port"))
                .and_then(|p| p.parse().ok()),
            user: s("ansible_user").or_else(|| s("ansible_ssh_user")),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("{0}")]
    Unreachable(String),
}

/// Opens a connection. SSH arrives with the transport issue; until then an SSH host is
/// reported unreachable with a message that says so.
pub fn connect(t: &Target) -> Result<Arc<dyn Connection>, ConnectError> {
    match t.kind.as_str() {
        "local" => Ok(Arc::new(LocalConnection)),
        "ssh" | "paramiko" | "smart" => Err(ConnectError::Unreachable(format!(
            "cannot connect to {}{} over SSH: this build of timonel has no SSH transport yet; use ansible_connection=local for this host",
            t.address,
            t.port.map(|p| format!(":{p}")).unwrap_or_default()
        ))),
        other => Err(ConnectError::Unreachable(format!("unknown connection type '{other}' (supported: local, ssh)"))),
    }
}
