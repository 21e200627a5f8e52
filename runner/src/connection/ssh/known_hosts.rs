//! OpenSSH known_hosts files: plain, `[host]:port`, wildcard and negated patterns, hashed
//! (`|1|salt|hash`) entries, `@revoked`. Checking and learning a host's key.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use base64::Engine;
use hmac::{Hmac, Mac};
use russh::keys::ssh_key::PublicKey;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Record the key of a new host; refuse a changed key (OpenSSH `accept-new`, our default).
    AcceptNew,
    /// Refuse unknown and changed keys (`StrictHostKeyChecking yes`).
    Strict,
    /// Accept anything, record nothing (`StrictHostKeyChecking no`).
    Off,
}

impl Policy {
    pub fn parse(s: &str) -> Option<Policy> {
        match s.trim().to_ascii_lowercase().as_str() {
            "accept-new" => Some(Policy::AcceptNew),
            "yes" | "true" | "ask" => Some(Policy::Strict),
            "no" | "off" | "false" => Some(Policy::Off),
            _ => None,
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Known,
    Unknown,
    Changed { file: PathBuf, line: usize },
    Revoked { file: PathBuf, line: usize },
}

/// How OpenSSH names a host in known_hosts: `host`, or `[host]:port` off port 22.
pub fn host_id(host: &str, port: u16) -> String {
    if port == 22 {
        host.to_string()
    } else {
        format!("[{host}]:{port}")
    }
}

fn glob(pat: &str, s: &str) -> bool {
    fn go(p: &[u8], s: &[u8]) -> bool {
        match (p.first(), s.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], s) || (!s.is_empty() && go(p, &s[1..])),
            (Some(b'?'), Some(_)) => go(&p[1..], &s[1..]),
            (Some(a), Some(b)) if a.eq_ignore_ascii_case(b) => go(&p[1..], &s[1..]),
            _ => false,
        }
    }
    go(pat.as_bytes(), s.as_bytes())
}

fn hashed_match(entry: &str, id: &str) -> bool {
    let mut parts = entry.trim_start_matches("|1|").split('|');
    let (Some(salt), Some(hash)) = (parts.next(), parts.next()) else {
        return false;
    };
    let b64 = base64::engine::general_purpose::STANDARD;
    let (Ok(salt), Ok(hash)) = (b64.decode(salt), b64.decode(hash)) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<sha1::Sha1>::new_from_slice(&salt) else {
        return false;
    };
    mac.update(id.as_bytes());
    mac.verify_slice(&hash).is_ok()
}

/// Whether a host field (comma-separated patterns, or a hashed entry) names `id`.
fn hosts_match(field: &str, id: &str) -> bool {
    if field.starts_with("|1|") {
        return hashed_match(field, id);
    }
    let mut matched = false;
    for pat in field.split(',') {
        if let Some(neg) = pat.strip_prefix('!') {
            if glob(neg, id) {
                return false;
            }
        } else if glob(pat, id) {
            matched = true;
        }
    }
    matched
}

pub fn check(files: &[PathBuf], host: &str, port: u16, key: &PublicKey) -> Verdict {
    let id = host_id(host, port);
    let mut changed = None;
    let mut known = false;
    for file in files {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut fields: Vec<&str> = line.split_whitespace().collect();
            let marker = fields
                .first()
                .filter(|f| f.starts_with('@'))
                .map(|m| m.to_string());
            if marker.is_some() {
                fields.remove(0);
            }
            if fields.len() < 3 || !hosts_match(fields[0], &id) {
                continue;
            }
            let Ok(entry) = PublicKey::from_openssh(&format!("{} {}", fields[1], fields[2])) else {
                continue;
            };
            let same = entry.key_data() == key.key_data();
            match marker.as_deref() {
                Some("@revoked") if same => {
                    return Verdict::Revoked {
                        file: file.clone(),
                        line: n + 1,
                    }
                }
                Some(_) => {}
                None if same => known = true,
                None if entry.algorithm() == key.algorithm() && changed.is_none() => {
                    changed = Some((file.clone(), n + 1));
                }
                None => {}
            }
        }
    }
    match (known, changed) {
        (true, _) => Verdict::Known,
        (false, Some((file, line))) => Verdict::Changed { file, line },
        _ => Verdict::Unknown,
    }
}

static LEARN: Mutex<()> = Mutex::new(());

/// Appends the host's key to `file` (created 0600 in a 0700 directory if missing).
pub fn learn(file: &Path, host: &str, port: u16, key: &PublicKey) -> std::io::Result<()> {
    let _guard = LEARN.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(dir) = file.parent() {
        if !dir.exists() {
            std::fs::create_dir_all(dir)?;
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        }
    }
    let openssh = key
        .to_openssh()
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let mut parts = openssh.split_whitespace();
    let line = format!(
        "{} {} {}\n",
        host_id(host, port),
        parts.next().unwrap_or(""),
        parts.next().unwrap_or("")
    );
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(file)?;
    f.write_all(line.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_A: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHBA0Ma3MCmaRkN7xsmk2uQu3I21Ey8HShCeXw8MPiwl";
    const KEY_B: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBbs7V5Y41j7lT9bRpFlp/7UQ8VV3G29xjxvXFlhGMps";

    fn write(text: &str) -> (tempfile::TempDir, PathBuf) {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("known_hosts");
        std::fs::write(&p, text).unwrap();
        (d, p)
    }

    #[test]
    fn plain_port_pattern_and_changed() {
        let a = PublicKey::from_openssh(KEY_A).unwrap();
        let b = PublicKey::from_openssh(KEY_B).unwrap();
        let (_d, p) = write(&format!(
            "# c\nother {KEY_B}\n[10.0.0.5]:2222 {KEY_A}\n*.lab,!bad.lab {KEY_A}\n"
        ));
        let files = vec![p.clone()];
        assert_eq!(check(&files, "10.0.0.5", 2222, &a), Verdict::Known);
        assert_eq!(check(&files, "10.0.0.5", 22, &a), Verdict::Unknown);
        assert_eq!(check(&files, "web.lab", 22, &a), Verdict::Known);
        assert_eq!(check(&files, "bad.lab", 22, &a), Verdict::Unknown);
        assert_eq!(
            check(&files, "10.0.0.5", 2222, &b),
            Verdict::Changed { file: p, line: 3 }
        );
    }

    #[test]
    fn hashed_entries_and_learning() {
        // `ssh-keygen -H` form of "[127.0.0.1]:22101" with salt 0x00..00.
        let salt = [0u8; 20];
        let mut mac = Hmac::<sha1::Sha1>::new_from_slice(&salt).unwrap();
        mac.update(b"[127.0.0.1]:22101");
        let b64 = base64::engine::general_purpose::STANDARD;
        let line = format!(
            "|1|{}|{} {KEY_A}\n",
            b64.encode(salt),
            b64.encode(mac.finalize().into_bytes())
        );
        let (d, p) = write(&line);
        let a = PublicKey::from_openssh(KEY_A).unwrap();
        assert_eq!(
            check(std::slice::from_ref(&p), "127.0.0.1", 22101, &a),
            Verdict::Known
        );
        let fresh = d.path().join("sub/known_hosts");
        learn(&fresh, "h1", 22, &a).unwrap();
        assert_eq!(check(&[fresh], "h1", 22, &a), Verdict::Known);
    }
}
