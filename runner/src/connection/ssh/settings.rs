//! Where and how to connect, from the host's `ansible_*` variables over `~/.ssh/config`.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Map, Value};

use super::known_hosts::Policy;

#[derive(Debug, Clone)]
pub struct SshSettings {
    /// The name the host is known by (inventory name), for messages and ssh config lookup.
    pub name: String,
    pub address: String,
    pub port: u16,
    pub user: String,
    pub identity_files: Vec<PathBuf>,
    pub password: Option<String>,
    /// `[user@]host[:port]` of one jump host.
    pub proxy_jump: Option<String>,
    pub policy: Policy,
    pub known_hosts: Vec<PathBuf>,
    pub connect_timeout: Duration,
    pub keepalive: Duration,
}

/// Options that come from the command line.
#[derive(Debug, Clone, Default)]
pub struct SshDefaults {
    pub password: Option<String>,
    pub connect_timeout: Option<u64>,
    pub user: Option<String>,
}

pub fn home() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/root"))
}

fn expand(p: &str) -> PathBuf {
    match p.strip_prefix("~/") {
        Some(rest) => home().join(rest),
        None => PathBuf::from(p),
    }
}

fn var(vars: &Map<String, Value>, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| match vars.get(*k) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(Value::Bool(b)) => Some(b.to_string()),
        _ => None,
    })
}

/// `-o Key=Value`, `-o Key Value`, `-J jump`, `-i key`, `-p port`, `-l user` from
/// ansible_ssh_common_args / ansible_ssh_extra_args.
fn ssh_args(text: &str) -> Vec<(String, String)> {
    let words = shlex::split(text).unwrap_or_default();
    let mut out = vec![];
    let mut i = 0;
    while i < words.len() {
        let w = &words[i];
        let next = words.get(i + 1).cloned().unwrap_or_default();
        match w.as_str() {
            "-o" => {
                let (k, v) = match next.split_once('=') {
                    Some((k, v)) => (k.to_string(), v.to_string()),
                    None => {
                        let mut p = next.splitn(2, ' ');
                        (
                            p.next().unwrap_or("").to_string(),
                            p.next().unwrap_or("").to_string(),
                        )
                    }
                };
                out.push((k.to_ascii_lowercase(), v));
                i += 2;
            }
            "-J" => {
                out.push(("proxyjump".into(), next));
                i += 2;
            }
            "-i" => {
                out.push(("identityfile".into(), next));
                i += 2;
            }
            "-p" => {
                out.push(("port".into(), next));
                i += 2;
            }
            "-l" => {
                out.push(("user".into(), next));
                i += 2;
            }
            _ if w.starts_with("-o") => {
                if let Some((k, v)) = w[2..].split_once('=') {
                    out.push((k.to_ascii_lowercase(), v.to_string()));
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    out
}

fn ssh_config(host: &str) -> Option<ssh2_config::HostParams> {
    let path = home().join(".ssh/config");
    let file = std::fs::File::open(&path).ok()?;
    let mut reader = std::io::BufReader::new(file);
    let cfg = ssh2_config::SshConfig::default()
        .parse(
            &mut reader,
            ssh2_config::ParseRule::ALLOW_UNKNOWN_FIELDS
                | ssh2_config::ParseRule::ALLOW_UNSUPPORTED_FIELDS,
        )
        .ok()?;
    Some(cfg.query(host))
}

fn config_field(p: &ssh2_config::HostParams, name: &str) -> Option<String> {
    p.ignored_fields
        .iter()
        .chain(p.unsupported_fields.iter())
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .and_then(|(_, v)| v.first().cloned())
}

impl SshSettings {
    pub fn resolve(name: &str, vars: &Map<String, Value>, defaults: &SshDefaults) -> SshSettings {
        // An `ansible_host` that is the host's own name (as the engine fills it in where the
        // inventory gives none, like Ansible) is no address: ~/.ssh/config's HostName for
        // that name still applies, as OpenSSH applies it to the name it is given.
        let address_var =
            var(vars, &["ansible_host", "ansible_ssh_host"]).filter(|a| a.as_str() != name);
        let cfg = ssh_config(name).or_else(|| address_var.as_deref().and_then(ssh_config));
        let args: Vec<(String, String)> = [
            var(vars, &["ansible_ssh_common_args"]),
            var(vars, &["ansible_ssh_extra_args"]),
        ]
        .into_iter()
        .flatten()
        .flat_map(|a| ssh_args(&a))
        .collect();
        let arg = |k: &str| {
            args.iter()
                .rev()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.clone())
        };
        let address = address_var
            .or_else(|| cfg.as_ref().and_then(|c| c.host_name.clone()))
            .unwrap_or_else(|| name.to_string());
        let port = var(vars, &["ansible_port", "ansible_ssh_port"])
            .or_else(|| arg("port"))
            .and_then(|p| p.parse().ok())
            .or_else(|| cfg.as_ref().and_then(|c| c.port))
            .unwrap_or(22);
        let user = var(vars, &["ansible_user", "ansible_ssh_user"])
            .or_else(|| arg("user"))
            .or_else(|| defaults.user.clone())
            .or_else(|| cfg.as_ref().and_then(|c| c.user.clone()))
            .or_else(|| std::env::var("USER").ok())
            .unwrap_or_else(|| "root".into());
        let mut identity_files: Vec<PathBuf> = vec![];
        if let Some(k) = var(
            vars,
            &["ansible_ssh_private_key_file", "ansible_private_key_file"],
        ) {
            identity_files.push(expand(&k));
        }
        if let Some(k) = arg("identityfile") {
            identity_files.push(expand(&k));
        }
        if let Some(files) = cfg.as_ref().and_then(|c| c.identity_file.clone()) {
            identity_files.extend(files.into_iter().map(|f| expand(&f.display().to_string())));
        }
        for default in ["id_ed25519", "id_ecdsa", "id_rsa"] {
            identity_files.push(home().join(".ssh").join(default));
        }
        identity_files.dedup();
        let proxy_jump = arg("proxyjump")
            .or_else(|| {
                cfg.as_ref()
                    .and_then(|c| c.proxy_jump.as_ref().and_then(|j| j.first().cloned()))
            })
            .filter(|j| j != "none");
        let env_policy = std::env::var("ANSIBLE_HOST_KEY_CHECKING")
            .ok()
            .filter(|v| matches!(v.to_ascii_lowercase().as_str(), "false" | "no" | "0"))
            .map(|_| Policy::Off);
        let policy = arg("stricthostkeychecking")
            .or_else(|| var(vars, &["ansible_ssh_strict_host_key_checking"]))
            .or_else(|| {
                cfg.as_ref()
                    .and_then(|c| config_field(c, "stricthostkeychecking"))
            })
            .and_then(|p| Policy::parse(&p))
            .or(env_policy)
            .unwrap_or(Policy::AcceptNew);
        let user_known = arg("userknownhostsfile")
            .or_else(|| {
                cfg.as_ref()
                    .and_then(|c| config_field(c, "userknownhostsfile"))
            })
            .map(|f| expand(&f))
            .unwrap_or_else(|| home().join(".ssh/known_hosts"));
        let known_hosts = if user_known == std::path::Path::new("/dev/null") {
            vec![user_known]
        } else {
            vec![user_known, PathBuf::from("/etc/ssh/ssh_known_hosts")]
        };
        let timeout = var(vars, &["ansible_ssh_timeout", "ansible_timeout"])
            .and_then(|t| t.parse().ok())
            .or(defaults.connect_timeout)
            .or_else(|| {
                cfg.as_ref()
                    .and_then(|c| c.connect_timeout.map(|d| d.as_secs()))
            })
            .unwrap_or(10);
        let keepalive = cfg
            .as_ref()
            .and_then(|c| c.server_alive_interval)
            .unwrap_or(Duration::from_secs(15));
        SshSettings {
            name: name.to_string(),
            address,
            port,
            user,
            identity_files,
            password: var(
                vars,
                &[
                    "ansible_password",
                    "ansible_ssh_pass",
                    "ansible_ssh_password",
                ],
            )
            .or_else(|| defaults.password.clone()),
            proxy_jump,
            policy,
            known_hosts,
            connect_timeout: Duration::from_secs(timeout),
            keepalive: if keepalive.is_zero() {
                Duration::from_secs(15)
            } else {
                keepalive
            },
        }
    }

    /// Settings for the jump host `[user@]host[:port]`, sharing this host's credentials.
    pub fn jump(&self, spec: &str) -> SshSettings {
        let (user, rest) = match spec.rsplit_once('@') {
            Some((u, r)) => (Some(u.to_string()), r),
            None => (None, spec),
        };
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) => {
                (h.to_string(), p.parse().ok())
            }
            _ => (rest.to_string(), None),
        };
        let cfg = ssh_config(&host);
        let mut s = self.clone();
        s.name = host.clone();
        s.address = cfg
            .as_ref()
            .and_then(|c| c.host_name.clone())
            .unwrap_or(host);
        s.port = port
            .or_else(|| cfg.as_ref().and_then(|c| c.port))
            .unwrap_or(22);
        if let Some(u) = user.or_else(|| cfg.as_ref().and_then(|c| c.user.clone())) {
            s.user = u;
        }
        if let Some(files) = cfg.as_ref().and_then(|c| c.identity_file.clone()) {
            let mut f: Vec<PathBuf> = files
                .into_iter()
                .map(|f| expand(&f.display().to_string()))
                .collect();
            f.extend(s.identity_files);
            s.identity_files = f;
        }
        s.proxy_jump = None;
        s
    }

    /// `user@host:port` for messages.
    pub fn display(&self) -> String {
        format!("{}@{}:{}", self.user, self.address, self.port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn vars_and_common_args() {
        let vars = json!({
            "ansible_host": "10.0.0.2", "ansible_port": 2222, "ansible_user": "deploy",
            "ansible_ssh_common_args": "-o ProxyJump=admin@bastion:2200 -o StrictHostKeyChecking=no"
        });
        let s = SshSettings::resolve("node1", vars.as_object().unwrap(), &SshDefaults::default());
        assert_eq!(
            (s.address.as_str(), s.port, s.user.as_str()),
            ("10.0.0.2", 2222, "deploy")
        );
        assert_eq!(s.proxy_jump.as_deref(), Some("admin@bastion:2200"));
        assert_eq!(s.policy, Policy::Off);
        let j = s.jump("admin@bastion:2200");
        assert_eq!(
            (j.address.as_str(), j.port, j.user.as_str()),
            ("bastion", 2200, "admin")
        );
        assert!(j.proxy_jump.is_none());
    }
}
