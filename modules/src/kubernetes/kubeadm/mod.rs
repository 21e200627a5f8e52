//! kubeadm_init and kubeadm_join: a kubeadm cluster as idempotent tasks. What they return is
//! read back from the node and the cluster (the CA certificate, `kubeadm token list`, the
//! kubeadm-certs Secret), never kept in files of timonel's own. This file holds what both
//! share: the CA hash, tokens, and kubeadm's errors as a user should read them.

pub mod init;
pub mod join;
mod kubeconfig_dest;

use serde_json::Value;
use sha2::{Digest, Sha256};
use x509_cert::der::{DecodePem, Encode};
use x509_cert::Certificate;

/// `sha256:<hex>` of the CA certificate's SubjectPublicKeyInfo: kubeadm's
/// `--discovery-token-ca-cert-hash`, computed here rather than scraped from its output.
pub fn ca_cert_hash(pem: &str) -> Result<String, String> {
    let cert = Certificate::from_pem(pem.trim().as_bytes())
        .map_err(|e| format!("the cluster CA (pki/ca.crt) is not a PEM certificate: {e}"))?;
    let spki = cert
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .map_err(|e| format!("the cluster CA's public key: {e}"))?;
    Ok(format!("sha256:{}", hex::encode(Sha256::digest(spki))))
}

/// A bootstrap token as `kubeadm token list -o json` prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub token: String,
    /// RFC 3339 in UTC (`2026-11-30T10:00:00Z`); none: it never expires.
    pub expires: Option<String>,
    pub usages: Vec<String>,
}

/// The tokens in `kubeadm token list -o json` output: one JSON object per token.
pub fn parse_tokens(text: &str) -> Vec<Token> {
    serde_json::Deserializer::from_str(text)
        .into_iter::<Value>()
        .filter_map(Result::ok)
        .filter_map(|v| {
            Some(Token {
                token: v.get("token")?.as_str()?.to_string(),
                expires: v.get("expires").and_then(Value::as_str).map(str::to_string),
                usages: v
                    .get("usages")
                    .and_then(Value::as_array)
                    .map(|u| {
                        u.iter()
                            .filter_map(|x| x.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default(),
            })
        })
        .collect()
}

/// A token a node can still join with: for authentication and signing, and valid past
/// `soon` (RFC 3339 UTC, the host's clock some minutes ahead: timestamps of one format
/// compare as strings).
pub fn usable_token<'a>(tokens: &'a [Token], soon: &str) -> Option<&'a Token> {
    tokens.iter().find(|t| {
        ["authentication", "signing"]
            .iter()
            .all(|u| t.usages.iter().any(|x| x == u))
            && t.expires.as_deref().is_none_or(|e| e > soon)
    })
}

/// The command that prints that moment on the host (GNU date, in coreutils).
pub const SOON: &str = "date -u -d '+10 min' +%Y-%m-%dT%H:%M:%SZ";

/// Appends ` --flag value` for each argument given, and list arguments joined by commas
/// (`--ignore-preflight-errors Swap,NumCPU`).
pub fn push_flags(cmd: &mut String, args: &crate::Args, flags: &[(&str, &str)]) {
    for (arg, flag) in flags {
        let value = match args.get(arg) {
            Some(serde_json::Value::Array(_)) => Some(args.strings(arg).join(",")),
            Some(_) => args.string(arg),
            None => None,
        };
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            cmd.push_str(&format!(" {flag} {}", crate::connection::sh_quote(&v)));
        }
    }
}

/// The worker join command, as `kubeadm token create --print-join-command` prints it.
pub fn join_command(endpoint: &str, token: &str, hash: &str) -> String {
    format!("kubeadm join {endpoint} --token {token} --discovery-token-ca-cert-hash {hash}")
}

/// `host:port` of an admin.conf's `server: https://host:port`, as kubeadm takes it.
pub fn endpoint_of(kubeconfig: &str) -> Option<String> {
    kubeconfig.lines().find_map(|l| {
        let v = l.trim().strip_prefix("server:")?.trim();
        Some(
            v.trim_start_matches("https://")
                .trim_end_matches('/')
                .to_string(),
        )
    })
}

/// kubeadm's failure as a user should read it: its `[ERROR ...]` lines and its final error,
/// what fixes the common ones, and never a secret (`hide`: a token, a certificate key).
pub fn kubeadm_error(what: &str, stdout: &str, stderr: &str, hide: &[&str]) -> String {
    let text = format!("{stdout}\n{stderr}");
    let mut lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| {
            l.starts_with("[ERROR")
                // Swap is only a warning since kubeadm 1.28; the kubelet then fails on it.
                || l.starts_with("[WARNING Swap]")
                || l.starts_with("error execution phase")
                || l.starts_with("error:")
                || l.starts_with("[preflight] Some fatal errors")
        })
        .collect();
    if lines.is_empty() {
        lines = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        let n = lines.len();
        lines = lines.split_off(n.saturating_sub(5));
    }
    let mut msg = format!("{what} failed: {}", lines.join("\n"));
    let hints = [
        ("Swap", "turn swap off for good (the k8s_prerequisites role does)"),
        (
            "ip_forward",
            "set net.ipv4.ip_forward = 1 (the k8s_prerequisites role does)",
        ),
        (
            "bridge-nf-call-iptables",
            "load br_netfilter and set net.bridge.bridge-nf-call-iptables = 1 (the k8s_prerequisites role does)",
        ),
        (
            "CRI",
            "install and start the container runtime (the containerd role)",
        ),
        (
            "FileAvailable",
            "this node already holds (part of) a cluster: kubeadm reset -f, or force_rejoin: true",
        ),
        (
            "could not find a JWS signature",
            "the token expired or was deleted: get a fresh one from kubeadm_init on the first control-plane node",
        ),
    ];
    let fixes: Vec<&str> = hints
        .iter()
        .filter(|(k, _)| msg.contains(k))
        .map(|(_, fix)| *fix)
        .collect();
    if !fixes.is_empty() {
        msg.push_str(&format!("\nTo fix: {}", fixes.join("; ")));
    }
    for secret in hide.iter().filter(|s| !s.is_empty()) {
        msg = msg.replace(secret, "(hidden)");
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_read_from_kubeadm_json_and_the_usable_one_chosen() {
        let out = r#"{"kind":"BootstrapToken","token":"aaaaaa.0000000000000000","expires":"2026-11-30T10:00:00Z","usages":["authentication","signing"]}
{"kind":"BootstrapToken","token":"bbbbbb.1111111111111111","expires":"2026-12-01T10:00:00Z","usages":["signing"]}
{"kind":"BootstrapToken","token":"cccccc.2222222222222222","expires":"2026-12-01T10:00:00Z","usages":["authentication","signing"]}"#;
        let tokens = parse_tokens(out);
        assert_eq!(tokens.len(), 3);
        let t = usable_token(&tokens, "2026-11-30T12:00:00Z").unwrap();
        assert_eq!(t.token, "cccccc.2222222222222222");
        assert_eq!(
            usable_token(&tokens, "2026-11-29T12:00:00Z").unwrap().token,
            "aaaaaa.0000000000000000"
        );
        assert!(usable_token(&tokens, "2026-12-02T00:00:00Z").is_none());
    }

    #[test]
    fn errors_keep_kubeadms_lines_add_the_fix_and_hide_secrets() {
        let stderr = "[preflight] Running pre-flight checks\nerror execution phase preflight: [preflight] Some fatal errors occurred:\n\t[ERROR Swap]: swap is enabled; production deployments should disable swap unless testing the NodeSwap feature gate of the kubelet\n[preflight] If you know what you are doing, you can make a check non-fatal with `--ignore-preflight-errors=...`\nkubeadm join 10.0.0.1:6443 --token abcdef.0123456789abcdef";
        let m = kubeadm_error("kubeadm init", "", stderr, &["abcdef.0123456789abcdef"]);
        assert!(m.contains("[ERROR Swap]: swap is enabled"), "{m}");
        assert!(m.contains("k8s_prerequisites"), "{m}");
        assert!(!m.contains("abcdef.0123456789abcdef"), "{m}");
    }

    /// A CA certificate and its hash as openssl computes it:
    /// `openssl x509 -pubkey -noout -in ca.crt | openssl pkey -pubin -outform der | sha256sum`.
    pub const CA: &str = "-----BEGIN CERTIFICATE-----
MIIBgDCCASWgAwIBAgIUFJokdpWkOHCDYX8ZfhodpH6Wbv4wCgYIKoZIzj0EAwIw
FTETMBEGA1UEAwwKa3ViZXJuZXRlczAeFw0yNjExMzAwMDA4MDdaFw0zNjExMjcw
MDA4MDdaMBUxEzARBgNVBAMMCmt1YmVybmV0ZXMwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAAQVuuaoUucy60draxbqWZcdEtfmuFetJKEZK5c0oN8t//+ejMOIlye/
7f6SLbOnpLmqvgaJfx7fE3cOBdvV9lu+o1MwUTAdBgNVHQ4EFgQUYm2Xqggwkr6I
4hqVF1lBCiF4YV0wHwYDVR0jBBgwFoAUYm2Xqggwkr6I4hqVF1lBCiF4YV0wDwYD
VR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNJADBGAiEAxHDo3s4FKjBzF7QyMwXc
t3ljLBz6w5Sgc6J76cpODKcCIQChiau9fXMn3SxFfU6TB7rY1eyY5/DOX7Lclj6v
csx1rQ==
-----END CERTIFICATE-----
";

    #[test]
    fn the_ca_hash_is_of_the_public_key_info_as_openssl_computes_it() {
        assert_eq!(
            ca_cert_hash(CA).unwrap(),
            "sha256:ace2ee2c4f98c92b721038ea857b8e840ada4b610ae088f354e98c6a7c6311d6"
        );
        assert!(ca_cert_hash("not a certificate").is_err());
    }

    #[test]
    fn the_endpoint_comes_from_the_kubeconfigs_server() {
        let kc = "apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: X\n    server: https://10.0.0.5:6443\n  name: kubernetes\n";
        assert_eq!(endpoint_of(kc).as_deref(), Some("10.0.0.5:6443"));
        assert_eq!(
            join_command("lb:6443", "t", "sha256:h"),
            "kubeadm join lb:6443 --token t --discovery-token-ca-cert-hash sha256:h"
        );
    }
}
