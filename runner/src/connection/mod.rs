//! Transports. Modules only see `timonel_modules::Connection` (run a shell command); this folder
//! decides, per host, which transport implements it.

mod local;
pub mod ssh;

use std::sync::Arc;

use serde_json::{Map, Value};
use timonel_modules::Connection;

pub use local::LocalConnection;
pub use ssh::{SshConnection, SshDefaults, SshSettings};

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("{0}")]
    Unreachable(String),
}

/// What the command line adds to every connection.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// `-c`: one connection type for every host.
    pub forced: Option<String>,
    pub ssh: SshDefaults,
}

/// Connection types `-c` and `ansible_connection` may name.
pub const KINDS: &[&str] = &[
    "local",
    "ansible.builtin.local",
    "ssh",
    "ansible.builtin.ssh",
    "paramiko",
    "smart",
];

/// The connection for a host from its variables: `ansible_connection`, or local for the
/// implicit localhost, or SSH. Nothing is contacted until the first command.
pub fn connect(
    name: &str,
    vars: &Map<String, Value>,
    implicit_local: bool,
    opts: &ConnectOptions,
) -> Result<Arc<dyn Connection>, ConnectError> {
    let kind = opts
        .forced
        .clone()
        .or_else(|| {
            vars.get("ansible_connection")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .unwrap_or_else(|| {
            if implicit_local {
                "local".into()
            } else {
                "ssh".into()
            }
        });
    match kind.as_str() {
        "local" | "ansible.builtin.local" => Ok(Arc::new(LocalConnection)),
        "ssh" | "paramiko" | "smart" | "ansible.builtin.ssh" => Ok(Arc::new(SshConnection::new(
            SshSettings::resolve(name, vars, &opts.ssh),
        ))),
        other => Err(ConnectError::Unreachable(format!(
            "unknown connection type '{other}' (supported: local, ssh)"
        ))),
    }
}
