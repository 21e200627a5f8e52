//! apt_key (deprecated in Ansible, still in many roles): an OpenPGP key apt trusts, added
//! from `data`, a `file` on the host or a `url`, or removed by `id`. Without `apt-key` (gone
//! from Debian 13) and without gpg: keys are read as OpenPGP packets (fingerprints are the
//! SHA-1 of v4 key packets) and written as binary keyrings apt reads, to `keyring` or to
//! /etc/apt/trusted.gpg.d/<key id>.gpg.

use async_trait::async_trait;
use sha1::{Digest, Sha1};

use crate::connection::sh_quote;
use crate::files::get_url::dearmor;
use crate::spec::{arg, ArgType::*, ModuleSpec};
use crate::{
    Apply, ApplyContext, Args, ModResult, Module, ModuleError, ModuleResult, Plan, PlanContext,
    Work,
};

pub struct AptKey;

static SPEC: ModuleSpec = ModuleSpec::new(
    "apt_key",
    "Add or remove an OpenPGP key apt trusts (deprecated in Ansible; prefer signed-by).",
    &[
        arg(
            "id",
            Str,
            "The key's id or fingerprint (8, 16 or 40 hex digits).",
        ),
        arg("data", Str, "The key itself (armoured or binary)."),
        arg("file", Path, "A key file on the host."),
        arg(
            "url",
            Str,
            "Download the key from here (on the host, with curl or wget).",
        ),
        arg(
            "keyring",
            Path,
            "The keyring file to add to (default: /etc/apt/trusted.gpg.d/<id>.gpg).",
        ),
        arg(
            "keyserver",
            Str,
            "Not supported by timonel: give url, data or file.",
        ),
        arg("state", Str, "present or absent.")
            .default("\"present\"")
            .choices(&["absent", "present"]),
        arg("validate_certs", Bool, "Verify the TLS certificate of url.").default("true"),
    ],
)
.exclusive(&[&["data", "file", "url", "keyserver"]])
.also_known_as(&["ansible.builtin.apt_key"]);

/// One transferable public key: its packets' bytes and the fingerprints of its primary key
/// and subkeys (upper-case hex).
#[derive(Debug, Clone)]
struct Key {
    bytes: Vec<u8>,
    fingerprints: Vec<String>,
}

impl Key {
    fn matches(&self, id: &str) -> bool {
        self.fingerprints.iter().any(|f| f.ends_with(id))
    }
    fn primary(&self) -> &str {
        self.fingerprints.first().map(String::as_str).unwrap_or("")
    }
}

/// The keys of an OpenPGP keyring or key file (armoured or binary).
fn parse_keys(data: &[u8]) -> Result<Vec<Key>, String> {
    let owned;
    let data = if data.first().is_some_and(|b| b & 0x80 != 0) {
        data
    } else {
        owned = dearmor(data).ok_or("no OpenPGP public key in it")?;
        &owned[..]
    };
    let mut keys: Vec<Key> = vec![];
    let mut i = 0;
    while i < data.len() {
        let start = i;
        let b = data[i];
        if b & 0x80 == 0 {
            return Err(format!("not an OpenPGP packet at byte {i}"));
        }
        i += 1;
        let byte = |j: usize| {
            data.get(j)
                .copied()
                .map(usize::from)
                .ok_or("truncated packet")
        };
        let (tag, len) = if b & 0x40 != 0 {
            let o = byte(i)?;
            let (len, n) = match o {
                0..=191 => (o, 1),
                192..=223 => (((o - 192) << 8) + byte(i + 1)? + 192, 2),
                255 => (
                    (byte(i + 1)? << 24)
                        | (byte(i + 2)? << 16)
                        | (byte(i + 3)? << 8)
                        | byte(i + 4)?,
                    5,
                ),
                _ => return Err("partial-length packets are not keys".into()),
            };
            i += n;
            (b & 0x3f, len)
        } else {
            let (len, n) = match b & 3 {
                0 => (byte(i)?, 1),
                1 => ((byte(i)? << 8) | byte(i + 1)?, 2),
                2 => (
                    (byte(i)? << 24) | (byte(i + 1)? << 16) | (byte(i + 2)? << 8) | byte(i + 3)?,
                    4,
                ),
                _ => (data.len() - i, 0),
            };
            i += n;
            ((b >> 2) & 0x0f, len)
        };
        let end = i
            .checked_add(len)
            .filter(|e| *e <= data.len())
            .ok_or("truncated packet")?;
        let body = &data[i..end];
        i = end;
        if tag == 6 || tag == 14 {
            // v4 fingerprint: SHA-1 of 0x99, the body's 2-byte length, the body.
            let mut h = Sha1::new();
            h.update([0x99, (len >> 8) as u8, len as u8]);
            h.update(body);
            let fp = hex::encode_upper(h.finalize());
            if tag == 6 {
                keys.push(Key {
                    bytes: vec![],
                    fingerprints: vec![fp],
                });
            } else if let Some(k) = keys.last_mut() {
                k.fingerprints.push(fp);
            }
        }
        if let Some(k) = keys.last_mut() {
            k.bytes.extend_from_slice(&data[start..end]);
        }
    }
    Ok(keys)
}

/// An id as Ansible takes it: hex, optionally 0x-prefixed, any case.
fn normalize_id(id: &str) -> Result<String, String> {
    let id = id.trim();
    let id = id
        .strip_prefix("0x")
        .or_else(|| id.strip_prefix("0X"))
        .unwrap_or(id)
        .replace(' ', "")
        .to_ascii_uppercase();
    if ![8, 16, 40].contains(&id.len()) || !id.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(format!(
            "key id '{id}' must be 8, 16 or 40 hexadecimal digits (a short id, long id or fingerprint)"
        ));
    }
    Ok(id)
}

/// The keyrings apt reads (or the one given), with their keys.
async fn keyrings(
    ctx: &PlanContext<'_>,
    keyring: Option<&str>,
) -> ModResult<Vec<(String, Vec<Key>)>> {
    let paths: Vec<String> = match keyring {
        Some(k) => vec![k.to_string()],
        None => {
            let out = ctx
                .host
                .exec("for f in /etc/apt/trusted.gpg /etc/apt/trusted.gpg.d/*.gpg /etc/apt/trusted.gpg.d/*.asc; do [ -f \"$f\" ] && printf '%s\\n' \"$f\"; done; true")
                .await?;
            out.stdout_str().lines().map(str::to_string).collect()
        }
    };
    let mut out = vec![];
    for p in paths {
        if let Some(data) = ctx.host.read(&p).await? {
            // A file that isn't an OpenPGP keyring (a keybox) holds nothing apt reads.
            out.push((p, parse_keys(&data).unwrap_or_default()));
        }
    }
    Ok(out)
}

enum Change {
    Write { path: String, bytes: Vec<u8> },
    Remove { path: String },
}

struct KeyWork(Vec<Change>);

#[async_trait]
impl Apply for KeyWork {
    async fn apply(
        self: Box<Self>,
        ctx: &ApplyContext<'_>,
        _args: &Args,
        preview: ModuleResult,
    ) -> ModResult<ModuleResult> {
        for c in self.0 {
            match c {
                Change::Write { path, bytes } => {
                    let existing = ctx.host.stat(&path, true).await?;
                    let attrs = crate::hostfs::Attrs {
                        mode: existing.is_none().then(|| "0644".to_string()),
                        ..Default::default()
                    };
                    ctx.host
                        .write_atomic(&path, &bytes, &attrs, existing.as_ref())
                        .await?
                }
                Change::Remove { path } => {
                    ctx.host
                        .exec_ok(&format!("rm -f -- {}", sh_quote(&path)))
                        .await?;
                }
            }
        }
        Ok(preview)
    }
}

fn fail(m: impl Into<String>) -> ModuleError {
    ModuleError::Failed(m.into())
}

/// The key material of data, file or url.
async fn material(ctx: &PlanContext<'_>, args: &Args) -> ModResult<(String, Vec<u8>)> {
    if let Some(d) = args.str("data") {
        return Ok(("data".into(), d.as_bytes().to_vec()));
    }
    if let Some(f) = args.str("file") {
        let data = ctx
            .host
            .read(f)
            .await?
            .ok_or_else(|| fail(format!("key file {f} does not exist")))?;
        return Ok((f.to_string(), data));
    }
    if let Some(u) = args.str("url") {
        let k = if args.bool("validate_certs") { "" } else { "k" };
        let q = sh_quote(u);
        let out = ctx
            .host
            .exec(&format!(
                "if command -v curl >/dev/null 2>&1; then curl -fsSL{k} --max-time 60 {q}; else wget -qO- -T 60 {q}; fi"
            ))
            .await?;
        if out.rc != 0 {
            return Err(fail(format!(
                "error fetching key from {u}: {}",
                out.stderr_str().trim()
            )));
        }
        return Ok((u.to_string(), out.stdout));
    }
    Err(fail("apt_key needs data, file or url to add a key"))
}

#[async_trait]
impl Module for AptKey {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn plan(&self, ctx: &PlanContext<'_>, args: &Args) -> ModResult<Plan> {
        if args.get("keyserver").is_some() {
            return Err(fail(
                "apt_key: keyserver is not supported by timonel; give the key with url, data or file",
            ));
        }
        let id = args.str("id").map(normalize_id).transpose().map_err(fail)?;
        let keyring = args.str("keyring");
        let rings = keyrings(ctx, keyring).await?;
        let has = |id: &str| rings.iter().any(|(_, ks)| ks.iter().any(|k| k.matches(id)));
        let result = |fp: &str| {
            let mut r = ModuleResult::ok();
            if fp.len() == 40 {
                r = r
                    .with("fp", fp)
                    .with("id", &fp[24..])
                    .with("key_id", &fp[24..])
                    .with("short_id", &fp[32..]);
            }
            r
        };
        if args.str("state") == Some("absent") {
            let id = id.ok_or_else(|| fail("apt_key: state=absent needs the key's id"))?;
            let mut changes = vec![];
            for (path, keys) in &rings {
                if !keys.iter().any(|k| k.matches(&id)) {
                    continue;
                }
                let rest: Vec<u8> = keys
                    .iter()
                    .filter(|k| !k.matches(&id))
                    .flat_map(|k| k.bytes.clone())
                    .collect();
                changes.push(if rest.is_empty() && keyring.is_none() {
                    Change::Remove { path: path.clone() }
                } else {
                    Change::Write {
                        path: path.clone(),
                        bytes: rest,
                    }
                });
            }
            if changes.is_empty() {
                return Ok(Plan::Done(ModuleResult::ok()));
            }
            let mut preview = ModuleResult::changed();
            preview.msg = Some(format!("key {id} removed"));
            return Ok(Plan::change(preview, Work::custom(KeyWork(changes))));
        }
        if let Some(id) = &id {
            let found = rings
                .iter()
                .flat_map(|(_, ks)| ks.iter())
                .find(|k| k.matches(id));
            if let Some(k) = found {
                return Ok(Plan::Done(result(k.primary())));
            }
        }
        let (source, data) = material(ctx, args).await?;
        let keys = parse_keys(&data).map_err(|e| fail(format!("the key from {source}: {e}")))?;
        if keys.is_empty() {
            return Err(fail(format!("the key from {source}: no public key in it")));
        }
        if let Some(id) = &id {
            if !keys.iter().any(|k| k.matches(id)) {
                return Err(fail(format!(
                    "the key from {source} is not {id} (it holds {})",
                    keys.iter().map(Key::primary).collect::<Vec<_>>().join(", ")
                )));
            }
        }
        let fp = keys[0].primary().to_string();
        let missing: Vec<&Key> = keys.iter().filter(|k| !has(k.primary())).collect();
        if missing.is_empty() {
            return Ok(Plan::Done(result(&fp)));
        }
        let new: Vec<u8> = missing.iter().flat_map(|k| k.bytes.clone()).collect();
        let (path, bytes) = match keyring {
            Some(k) => {
                let mut old: Vec<u8> = rings
                    .iter()
                    .find(|(p, _)| p == k)
                    .map(|(_, ks)| ks.iter().flat_map(|k| k.bytes.clone()).collect())
                    .unwrap_or_default();
                old.extend(new);
                (k.to_string(), old)
            }
            None => (
                format!(
                    "/etc/apt/trusted.gpg.d/{}.gpg",
                    &fp[fp.len().saturating_sub(16)..]
                ),
                new,
            ),
        };
        let mut preview = result(&fp);
        preview.changed = true;
        preview.msg = Some(format!("key {fp} added to {path}"));
        Ok(Plan::change(
            preview,
            Work::custom(KeyWork(vec![Change::Write { path, bytes }])),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A v4 public key packet (new format, tag 6) with a tiny body, then a user id packet.
    fn key_bytes(body: &[u8]) -> Vec<u8> {
        let mut v = vec![0xC6, body.len() as u8];
        v.extend_from_slice(body);
        v.extend_from_slice(&[0xCD, 3, b'b', b'o', b'b']);
        v
    }

    #[test]
    fn fingerprints_and_key_groups() {
        let (a, b) = (key_bytes(b"\x04key-a"), key_bytes(b"\x04key-b"));
        let ring: Vec<u8> = [a.clone(), b.clone()].concat();
        let keys = parse_keys(&ring).unwrap();
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[0].bytes, a);
        let mut h = Sha1::new();
        h.update([0x99, 0, 6]);
        h.update(b"\x04key-a");
        assert_eq!(keys[0].primary(), hex::encode_upper(h.finalize()));
        assert!(keys[1].matches(&keys[1].primary()[32..]));
        assert!(parse_keys(b"hello").is_err());
        assert_eq!(normalize_id("0xabcd1234").unwrap(), "ABCD1234");
        assert!(normalize_id("xyz").is_err());
    }
}
