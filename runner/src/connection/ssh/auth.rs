//! Authentication: ssh-agent, then key files (ed25519, ecdsa, rsa; a passphrase from
//! TIMONEL_SSH_PASSPHRASE or a prompt), then a password.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use russh::client::Handle;
use russh::keys::{load_secret_key, PrivateKey, PrivateKeyWithHashAlg};

use super::settings::SshSettings;
use super::Client;

static KEYS: Mutex<Option<HashMap<PathBuf, Arc<PrivateKey>>>> = Mutex::new(None);
static PASSPHRASE: Mutex<Option<String>> = Mutex::new(None);

/// Decodes a key once per run, asking for its passphrase at most once.
fn key(path: &Path) -> Result<Arc<PrivateKey>, String> {
    if let Some(k) = KEYS
        .lock()
        .ok()
        .and_then(|m| m.as_ref().and_then(|m| m.get(path).cloned()))
    {
        return Ok(k);
    }
    let k = match load_secret_key(path, None) {
        Ok(k) => k,
        Err(russh::keys::Error::KeyIsEncrypted) => {
            let pass = passphrase(path)?;
            load_secret_key(path, Some(&pass))
                .map_err(|e| format!("cannot decrypt {}: {e}", path.display()))?
        }
        Err(e) => return Err(format!("cannot read key {}: {e}", path.display())),
    };
    let k = Arc::new(k);
    if let Ok(mut m) = KEYS.lock() {
        m.get_or_insert_with(HashMap::new)
            .insert(path.to_path_buf(), k.clone());
    }
    Ok(k)
}

fn passphrase(path: &Path) -> Result<String, String> {
    if let Ok(p) = std::env::var("TIMONEL_SSH_PASSPHRASE") {
        return Ok(p);
    }
    let mut cached = PASSPHRASE.lock().map_err(|e| e.to_string())?;
    if let Some(p) = cached.as_ref() {
        return Ok(p.clone());
    }
    let p = crate::secret::prompt(&format!("Enter passphrase for key '{}': ", path.display()))
        .ok_or_else(|| {
            format!(
                "{} is encrypted: set TIMONEL_SSH_PASSPHRASE or run from a terminal",
                path.display()
            )
        })?;
    *cached = Some(p.clone());
    Ok(p)
}

pub async fn authenticate(handle: &mut Handle<Client>, s: &SshSettings) -> Result<(), String> {
    let mut tried = vec![];
    if std::env::var_os("SSH_AUTH_SOCK").is_some() {
        if let Ok(mut agent) = russh::keys::agent::client::AgentClient::connect_env().await {
            let ids = agent.request_identities().await.unwrap_or_default();
            tried.push(format!("ssh-agent ({} keys)", ids.len()));
            for id in ids {
                let hash = handle
                    .best_supported_rsa_hash()
                    .await
                    .ok()
                    .flatten()
                    .flatten();
                if let Ok(r) = handle
                    .authenticate_publickey_with(
                        &s.user,
                        id.public_key().into_owned(),
                        hash,
                        &mut agent,
                    )
                    .await
                {
                    if r.success() {
                        return Ok(());
                    }
                }
            }
        }
    }
    for path in s.identity_files.iter().filter(|p| p.exists()) {
        let k = match key(path) {
            Ok(k) => k,
            Err(e) => {
                tried.push(e);
                continue;
            }
        };
        tried.push(path.display().to_string());
        let hash = handle
            .best_supported_rsa_hash()
            .await
            .map_err(|e| e.to_string())?
            .flatten();
        let r = handle
            .authenticate_publickey(&s.user, PrivateKeyWithHashAlg::new(k, hash))
            .await
            .map_err(|e| format!("authentication of {} failed: {e}", s.display()))?;
        if r.success() {
            return Ok(());
        }
    }
    if let Some(p) = &s.password {
        tried.push("password".into());
        let r = handle
            .authenticate_password(&s.user, p)
            .await
            .map_err(|e| e.to_string())?;
        if r.success() {
            return Ok(());
        }
    }
    Err(format!(
        "authentication failed for {} (tried: {}); set ansible_ssh_private_key_file, load the key into ssh-agent, or use --ask-pass",
        s.display(),
        if tried.is_empty() { "no key found in ~/.ssh".to_string() } else { tried.join(", ") }
    ))
}
