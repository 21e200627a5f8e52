//! get_url: download a file to the host, on the host itself (curl or wget) or, for hosts
//! without network access, on the controller and then uploaded. A checksum is verified
//! before the file is put in place; an ASCII-armoured key saved as `.gpg` is dearmoured.

use async_trait::async_trait;
use base64::Engine;
use sha2::Digest;

use super::content::{plan_content, Body, ControllerFile};
use crate::connection::sh_quote;
use crate::hostfs::FileKind;
use crate::spec::{arg, ArgType::*, ModuleSpec, ATTR_ARGS, SELINUX_ARGS};
use crate::{
    Apply, ApplyContext, Args, ModResult, Module, ModuleError, ModuleResult, Plan, PlanContext,
    Work,
};

pub struct GetUrl;

static SPEC: ModuleSpec = ModuleSpec::new(
    "get_url",
    "Download a file from HTTP(S) to the host (on the host, or on the controller and uploaded).",
    &[
        arg("url", Str, "What to download.").required(),
        arg(
            "dest",
            Path,
            "Where to put it; a directory receives the URL's file name.",
        )
        .required(),
        arg(
            "checksum",
            Str,
            "`sha256:<hex>` (or sha1/sha512/md5): verified before the file is put in place.",
        ),
        arg(
            "force",
            Bool,
            "Download even if dest exists (without a checksum to compare).",
        )
        .default("false"),
        arg("timeout", Int, "Seconds for the download.").default("30"),
        arg(
            "download_on",
            Str,
            "host (curl/wget there; the controller when the host has neither) or controller.",
        )
        .default("\"host\"")
        .choices(&["host", "controller"]),
        ATTR_ARGS[0],
        ATTR_ARGS[1],
        ATTR_ARGS[2],
        SELINUX_ARGS[0],
        SELINUX_ARGS[1],
        SELINUX_ARGS[2],
        SELINUX_ARGS[3],
    ],
);

fn parse_checksum(c: &str) -> Result<(String, String), String> {
    let (alg, hex) = c
        .split_once(':')
        .ok_or_else(|| format!("checksum '{c}' must be <algorithm>:<hex>, e.g. sha256:..."))?;
    let alg = alg.to_ascii_lowercase();
    if !["sha1", "sha256", "sha512", "md5"].contains(&alg.as_str()) {
        return Err(format!(
            "unsupported checksum algorithm '{alg}' (sha1, sha256, sha512, md5)"
        ));
    }
    Ok((alg, hex.trim().to_ascii_lowercase()))
}

/// A checksum computed chunk by chunk as a download arrives.
enum Hasher {
    Sha1(sha1::Sha1),
    Sha256(sha2::Sha256),
    Sha512(sha2::Sha512),
    Md5(md5::Md5),
}

impl Hasher {
    fn new(alg: &str) -> Hasher {
        match alg {
            "sha1" => Hasher::Sha1(Default::default()),
            "sha512" => Hasher::Sha512(Default::default()),
            "sha256" => Hasher::Sha256(Default::default()),
            // parse_checksum admits no other algorithm.
            _ => Hasher::Md5(Default::default()),
        }
    }

    fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Sha1(h) => h.update(data),
            Hasher::Sha256(h) => h.update(data),
            Hasher::Sha512(h) => h.update(data),
            Hasher::Md5(h) => h.update(data),
        }
    }

    fn hex(self) -> String {
        match self {
            Hasher::Sha1(h) => hex::encode(h.finalize()),
            Hasher::Sha256(h) => hex::encode(h.finalize()),
            Hasher::Sha512(h) => hex::encode(h.finalize()),
            Hasher::Md5(h) => hex::encode(h.finalize()),
        }
    }
}

#[cfg(test)]
fn digest(alg: &str, data: &[u8]) -> String {
    let mut h = Hasher::new(alg);
    h.update(data);
    h.hex()
}

/// Armoured keys are small; a larger `.gpg` download is kept as it is.
const MAX_ARMOURED_KEY: u64 = 16 << 20;

/// Downloads `url` into a controller temporary file chunk by chunk (memory stays bounded
/// whatever its size), computing its SHA-1 and `alg`'s checksum on the way.
async fn download(
    url: &str,
    timeout: i64,
    alg: Option<&str>,
) -> ModResult<(ControllerFile, Option<String>)> {
    use tokio::io::AsyncWriteExt;
    let failed = |e: &dyn std::fmt::Display| {
        ModuleError::Failed(format!("downloading {url} on the controller failed: {e}"))
    };
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(timeout as u64))
        .build()
        .map_err(|e| ModuleError::Failed(e.to_string()))?;
    let mut resp = client.get(url).send().await.map_err(|e| failed(&e))?;
    if !resp.status().is_success() {
        return Err(failed(&format!("HTTP {}", resp.status())));
    }
    let temp = tempfile::NamedTempFile::new()
        .map_err(|e| ModuleError::Failed(format!("cannot make a temporary file: {e}")))?
        .into_temp_path();
    let mut file = tokio::fs::File::create(&temp)
        .await
        .map_err(|e| failed(&format!("cannot write {}: {e}", temp.display())))?;
    let (mut sha1, mut asked, mut size) = (sha1::Sha1::new(), alg.map(Hasher::new), 0u64);
    while let Some(chunk) = resp.chunk().await.map_err(|e| failed(&e))? {
        sha1.update(&chunk);
        if let Some(h) = asked.as_mut() {
            h.update(&chunk);
        }
        size += chunk.len() as u64;
        file.write_all(&chunk)
            .await
            .map_err(|e| failed(&format!("cannot write {}: {e}", temp.display())))?;
    }
    file.flush().await.map_err(|e| failed(&e))?;
    drop(file);
    let f = ControllerFile::temporary(temp, size, hex::encode(sha1.finalize()));
    Ok((f, asked.map(Hasher::hex)))
}

/// The binary key inside an ASCII-armoured OpenPGP block (what `gpg --dearmor` writes).
pub fn dearmor(data: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(data).ok()?;
    let start = text.find("-----BEGIN PGP PUBLIC KEY BLOCK-----")?;
    let body = &text[start..];
    let mut lines = body.lines().skip(1);
    // Armor headers end with a blank line.
    let mut b64 = String::new();
    let mut in_headers = true;
    for l in lines.by_ref() {
        let l = l.trim();
        if in_headers {
            if l.is_empty() {
                in_headers = false;
            } else if !l.contains(':') {
                in_headers = false;
                b64.push_str(l);
            }
            continue;
        }
        if l.starts_with("-----END") || l.starts_with('=') {
            break;
        }
        b64.push_str(l);
    }
    base64::engine::general_purpose::STANDARD.decode(b64).ok()
}

struct Download {
    dest: String,
    on_host: bool,
}

#[async_trait]
impl Module for GetUrl {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn plan(&self, ctx: &PlanContext<'_>, args: &Args) -> ModResult<Plan> {
        let url = args.string("url").unwrap_or_default();
        let mut dest = args.string("dest").unwrap_or_default();
        let checksum = args
            .str("checksum")
            .map(parse_checksum)
            .transpose()
            .map_err(ModuleError::Failed)?;
        let st = ctx.host.stat(&dest, true).await?;
        if dest.ends_with('/') || st.as_ref().is_some_and(|s| s.kind == FileKind::Directory) {
            let name = url
                .split(['?', '#'])
                .next()
                .unwrap_or("")
                .rsplit('/')
                .next()
                .filter(|n| !n.is_empty())
                .unwrap_or("index.html");
            dest = format!("{}/{name}", dest.trim_end_matches('/'));
        }
        let st = ctx.host.stat(&dest, true).await?;
        let result = ModuleResult::ok()
            .with("dest", dest.clone())
            .with("url", url.clone());
        if let Some(existing) = &st {
            let fresh = match &checksum {
                Some((alg, want)) => {
                    let out = ctx
                        .host
                        .exec(&format!(
                            "{alg}sum < {} 2>/dev/null || openssl dgst -{alg} < {0}",
                            sh_quote(&dest)
                        ))
                        .await?;
                    out.stdout_str().split_whitespace().last() == Some(want.as_str())
                        || out.stdout_str().split_whitespace().next() == Some(want.as_str())
                }
                None => !args.bool("force"),
            };
            if fresh {
                let attrs = args.attrs();
                if attrs.differences(existing).is_empty() {
                    return Ok(Plan::Done(result));
                }
                // Only attributes to fix: the shared content planner does it from the file itself.
                let data = ctx.host.read(&dest).await?.unwrap_or_default();
                return plan_content(
                    ctx,
                    &dest,
                    data.clone(),
                    attrs,
                    false,
                    Some((st.clone(), Some(data))),
                )
                .await;
            }
        }
        let on_host = args.str("download_on") != Some("controller")
            && ctx
                .host
                .exec("command -v curl >/dev/null 2>&1 || command -v wget >/dev/null 2>&1")
                .await?
                .rc
                == 0;
        let mut preview = result;
        preview.changed = true;
        preview.msg = Some(format!("{url} -> {dest}"));
        Ok(Plan::change(
            preview,
            Work::custom(Download { dest, on_host }),
        ))
    }
}

#[async_trait]
impl Apply for Download {
    async fn apply(
        self: Box<Self>,
        ctx: &ApplyContext<'_>,
        args: &Args,
        preview: ModuleResult,
    ) -> ModResult<ModuleResult> {
        let d = *self;
        let url = args.string("url").unwrap_or_default();
        let timeout = args.int("timeout").unwrap_or(30).max(1);
        let checksum = args
            .str("checksum")
            .map(parse_checksum)
            .transpose()
            .map_err(ModuleError::Failed)?;
        let armoured_key = d.dest.ends_with(".gpg");
        if d.on_host && !armoured_key {
            // Download next to the destination, verify, then rename into place.
            let tmp = format!("{}.timonel-download", d.dest);
            let (u, t) = (sh_quote(&url), sh_quote(&tmp));
            let fetch = format!(
                "if command -v curl >/dev/null 2>&1; then curl -fsSL --max-time {timeout} -o {t} {u}; else wget -q -T {timeout} -O {t} {u}; fi || {{ rm -f {t}; exit 1; }}"
            );
            let out = ctx.host.exec(&fetch).await?;
            if out.rc != 0 {
                return Err(ModuleError::Failed(format!(
                    "downloading {url} on the host failed: {}",
                    out.stderr_str().trim()
                )));
            }
            if let Some((alg, want)) = &checksum {
                let got = ctx
                    .host
                    .exec_ok(&format!("{alg}sum < {t}"))
                    .await?
                    .stdout_str()
                    .split_whitespace()
                    .next()
                    .unwrap_or("")
                    .to_string();
                if &got != want {
                    ctx.host.exec(&format!("rm -f {t}")).await?;
                    return Err(ModuleError::Failed(format!("checksum mismatch for {url}: expected {alg}:{want}, got {alg}:{got}; nothing was written")));
                }
            }
            let attrs = args.attrs();
            let mut cmd = attrs.commands(&t);
            cmd.push_str(&format!("mv -f {t} {}", sh_quote(&d.dest)));
            ctx.host.exec_ok(&cmd).await?;
            return Ok(preview);
        }
        let fell_back = !d.on_host && args.str("download_on") != Some("controller");
        let (file, got) = download(&url, timeout, checksum.as_ref().map(|(a, _)| a.as_str()))
            .await
            .map_err(|e| match e {
                ModuleError::Failed(m) if fell_back && !armoured_key => {
                    ModuleError::Failed(format!(
                    "{m} (the host has neither curl nor wget, so the controller downloaded it: \
                     install curl on the host, or use a URL the controller reaches)"
                ))
                }
                e => e,
            })?;
        if let (Some((alg, want)), Some(got)) = (&checksum, got) {
            if &got != want {
                return Err(ModuleError::Failed(format!("checksum mismatch for {url}: expected {alg}:{want}, got {alg}:{got}; nothing was written")));
            }
        }
        let data: Body = if armoured_key && file.size <= MAX_ARMOURED_KEY {
            let raw = std::fs::read(&file.path).map_err(|e| {
                ModuleError::Failed(format!("cannot read {}: {e}", file.path.display()))
            })?;
            match dearmor(&raw) {
                Some(key) => key.into(),
                None => file.into(),
            }
        } else {
            file.into()
        };
        let plan = plan_content(&ctx.plan_view(), &d.dest, data, args.attrs(), false, None).await?;
        match plan {
            Plan::Change { preview: p, work } => {
                work.apply(ctx, args, p).await?;
                Ok(preview)
            }
            _ => Ok(preview),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::digest;

    #[test]
    fn every_accepted_algorithm_is_computed() {
        assert_eq!(digest("md5", b"abc"), "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(
            digest("sha1", b"abc"),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert!(digest("sha256", b"abc").starts_with("ba7816bf"));
        assert!(digest("sha512", b"abc").starts_with("ddaf35a1"));
    }
}
