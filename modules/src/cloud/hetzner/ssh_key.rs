//! `hetzner_ssh_key` (hetzner.hcloud.ssh_key): an SSH key in the project, found by name.

use async_trait::async_trait;
use serde_json::{json, Map, Value};

use super::calls::Kind;
use super::resource::{unknown, Notes, Resource, Update};
use super::{labels, API_ARGS};
use crate::clients::hetzner::{Client, Obj};
use crate::spec::{arg, ArgType::*, ModuleSpec};
use crate::{Args, ModResult, ModuleError};

#[derive(Clone)]
pub struct SshKey;

static SPEC: ModuleSpec = ModuleSpec::new(
    "hetzner_ssh_key",
    "An SSH key in the Hetzner Cloud project, for servers to be created with.",
    &[
        arg("name", Str, "The key's name.").required(),
        arg(
            "public_key",
            Str,
            "The public key (OpenSSH format); needed to create it.",
        ),
        arg("labels", Dict, "Labels (key: value)."),
        arg("state", Str, "Whether the key should exist.")
            .default("\"present\"")
            .choices(&["present", "absent"]),
        API_ARGS[0],
        API_ARGS[1],
    ],
)
.also_known_as(&[
    "hetzner.hcloud.ssh_key",
    "hetzner.hcloud.hcloud_ssh_key",
    "hcloud_ssh_key",
]);

/// The key material, without the comment.
fn key_material(k: &str) -> String {
    k.split_whitespace().take(2).collect::<Vec<_>>().join(" ")
}

/// The key's MD5 fingerprint as the API computes it (aa:bb:...), from the key itself.
fn fingerprint(public_key: &str) -> Option<String> {
    use base64::Engine;
    use md5::Digest;
    let blob = base64::engine::general_purpose::STANDARD
        .decode(public_key.split_whitespace().nth(1)?)
        .ok()?;
    let hex: Vec<String> = md5::Md5::digest(&blob)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Some(hex.join(":"))
}

#[async_trait]
impl Resource for SshKey {
    type Refs = ();

    const KIND: Kind = Kind {
        path: "/ssh_keys",
        one: "ssh_key",
        what: "SSH key",
    };
    const FIELDS: &'static [&'static str] = &["name", "fingerprint", "public_key", "labels"];

    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn refs(&self, _: &Client, _: &Args, _: &mut Notes) -> ModResult<()> {
        Ok(())
    }

    async fn create(
        &self,
        _: &Client,
        args: &Args,
        _: &(),
        _: &mut Notes,
    ) -> ModResult<(Value, Map<String, Value>)> {
        let name = args.string("name").unwrap_or_default();
        let public_key = args.string("public_key").ok_or_else(|| {
            ModuleError::Failed(format!(
                "hetzner_ssh_key: 'public_key' is needed to create the key '{name}'"
            ))
        })?;
        let mut body = json!({"name": name, "public_key": public_key.trim()});
        if let Some(l) = labels(args.get("labels")) {
            body["labels"] = Value::Object(l);
        }
        let shown = body.as_object().cloned().unwrap_or_default();
        Ok((body, shown))
    }

    /// Labels in place; the key material can't change (reported).
    fn update(&self, args: &Args, _: &(), u: &mut Update<'_>) -> ModResult<()> {
        let k = u.found;
        if args.str("public_key").is_some_and(|p| {
            key_material(p) != key_material(k["public_key"].as_str().unwrap_or(""))
        }) {
            u.notes.push(format!(
                "the public_key differs from the existing key '{}' ({}), which the API \
                 cannot change: remove the key (state: absent) and create it again",
                k["name"].as_str().unwrap_or(""),
                k["fingerprint"].as_str().unwrap_or("")
            ));
        }
        u.labels(args);
        Ok(())
    }

    fn registered(&self, key: &Obj, _: &()) -> Value {
        json!({
            "id": key.get("id"),
            "name": key.get("name"),
            "fingerprint": key.get("fingerprint"),
            "public_key": key.get("public_key"),
            "labels": key.get("labels"),
        })
    }

    fn planned(&self, _: &Args, body: &Value, _: &()) -> Value {
        json!({
            "id": unknown(),
            "name": body["name"],
            "fingerprint": body["public_key"].as_str().and_then(fingerprint).map_or_else(unknown, Value::from),
            "public_key": body["public_key"],
            "labels": body.get("labels").cloned().unwrap_or(json!({})),
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_fingerprint_is_the_md5_of_the_key_blob() {
        let key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHq7kqz4XIRZ2GJ3Q9m2cH9kZ2b5Z0d8m0bCkq4J0o3T ops@laptop";
        assert_eq!(
            super::fingerprint(key).as_deref(),
            Some("8f:57:f7:5f:a1:12:86:a7:fb:93:3c:1c:e9:3e:ae:d3")
        );
        assert_eq!(super::fingerprint("ssh-ed25519 !!!"), None);
    }
}
