//! authorized_key (ansible.posix): SSH public keys in a user's authorized_keys. Keys are
//! matched by their type and base64 blob, as Ansible matches them: a present key with other
//! options or comment is rewritten in place, an absent one is removed, `exclusive` drops
//! every other key. Lines it doesn't manage stay as written.

use async_trait::async_trait;

use super::steps::{add_diffs, ConfigFile, Steps};
use crate::connection::sh_quote;
use crate::spec::{arg, ArgType::*, ModuleSpec};
use crate::{Args, ModResult, Module, ModuleError, ModuleResult, Plan, PlanContext};

pub struct AuthorizedKey;

static SPEC: ModuleSpec = ModuleSpec::new(
    "authorized_key",
    "Add or remove SSH public keys in a user's authorized_keys file.",
    &[
        arg("user", Str, "The user whose authorized_keys is managed.").required(),
        arg("key", Str, "One public key, or several, one per line.").required(),
        arg(
            "path",
            Path,
            "The file (default: ~user/.ssh/authorized_keys).",
        ),
        arg(
            "manage_dir",
            Bool,
            "Create ~user/.ssh (0700, owned by the user) if needed.",
        )
        .default("true"),
        arg("state", Str, "present or absent.")
            .default("\"present\"")
            .choices(&["present", "absent"]),
        arg(
            "key_options",
            Str,
            "Options put before each key, e.g. no-port-forwarding.",
        ),
        arg("exclusive", Bool, "Remove every other key from the file.").default("false"),
        arg(
            "comment",
            Str,
            "The comment written after each key (replaces the key's own).",
        ),
        arg("follow", Bool, "Accepted for compatibility.").default("false"),
        arg(
            "validate_certs",
            Bool,
            "Accepted for compatibility (keys from URLs are not fetched).",
        )
        .default("true"),
    ],
)
.also_known_as(&["ansible.posix.authorized_key"]);

/// A key line's parts; `None` for comments, blank and unparsable lines.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Key {
    options: Option<String>,
    kind: String,
    blob: String,
    comment: Option<String>,
}

fn is_key_type(t: &str) -> bool {
    t.starts_with("ssh-")
        || t.starts_with("ecdsa-sha2-")
        || t.starts_with("sk-ssh-")
        || t.starts_with("sk-ecdsa-")
}

/// Splits `[options] type blob [comment]`; options may hold quoted spaces.
fn parse_key(line: &str) -> Option<Key> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    // Find the key type at a word start outside quotes.
    let mut quoted = false;
    let mut start = 0;
    let bytes = line.as_bytes();
    let mut i = 0;
    while i <= bytes.len() {
        let at_end = i == bytes.len();
        if !at_end && bytes[i] == b'"' {
            quoted = !quoted;
        }
        if at_end || (!quoted && bytes[i].is_ascii_whitespace()) {
            let word = &line[start..i];
            if is_key_type(word) {
                let options = line[..start].trim();
                let mut rest = line[i..].trim_start().splitn(2, char::is_whitespace);
                let blob = rest.next().filter(|b| !b.is_empty())?.to_string();
                let comment = rest.next().map(str::trim).filter(|c| !c.is_empty());
                return Some(Key {
                    options: (!options.is_empty()).then(|| options.to_string()),
                    kind: word.to_string(),
                    blob,
                    comment: comment.map(str::to_string),
                });
            }
            start = i + 1;
        }
        i += 1;
    }
    None
}

fn serialize(k: &Key) -> String {
    let mut s = String::new();
    if let Some(o) = &k.options {
        s.push_str(o);
        s.push(' ');
    }
    s.push_str(&k.kind);
    s.push(' ');
    s.push_str(&k.blob);
    if let Some(c) = &k.comment {
        s.push(' ');
        s.push_str(c);
    }
    s
}

/// The file's new text from its old text and the wanted keys.
fn new_text(old: &str, wanted: &[Key], present: bool, exclusive: bool) -> String {
    let same = |a: &Key, b: &Key| a.kind == b.kind && a.blob == b.blob;
    let mut lines: Vec<String> = vec![];
    let mut placed = vec![false; wanted.len()];
    for line in old.lines() {
        match parse_key(line) {
            Some(k) => match wanted.iter().position(|w| same(w, &k)) {
                Some(i) if present && !placed[i] => {
                    placed[i] = true;
                    // Unchanged lines stay as written (spacing included).
                    if k == wanted[i] {
                        lines.push(line.to_string());
                    } else {
                        lines.push(serialize(&wanted[i]));
                    }
                }
                Some(_) => {}
                None if exclusive && present => {}
                None => lines.push(line.to_string()),
            },
            None => lines.push(line.to_string()),
        }
    }
    if present {
        for (i, w) in wanted.iter().enumerate() {
            if !placed[i] {
                lines.push(serialize(w));
            }
        }
    }
    if lines.is_empty() {
        String::new()
    } else {
        lines.join("\n") + "\n"
    }
}

#[async_trait]
impl Module for AuthorizedKey {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn plan(&self, ctx: &PlanContext<'_>, args: &Args) -> ModResult<Plan> {
        let user = args.string("user").unwrap_or_default();
        let present = args.str("state") != Some("absent");
        let options = args.string("key_options").filter(|o| !o.trim().is_empty());
        let comment = args.string("comment");
        let text = args.string("key").unwrap_or_default();
        if text.starts_with("http://") || text.starts_with("https://") {
            return Err(ModuleError::Failed(
                "authorized_key: keys from a URL are not fetched by timonel; read them with a lookup or get_url first".into(),
            ));
        }
        let mut wanted = vec![];
        for line in text
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.trim().starts_with('#'))
        {
            let Some(mut k) = parse_key(line) else {
                return Err(ModuleError::Failed(format!(
                    "authorized_key: invalid key specified: {line}"
                )));
            };
            if options.is_some() {
                k.options.clone_from(&options);
            }
            if comment.is_some() {
                k.comment.clone_from(&comment);
            }
            wanted.push(k);
        }
        let pw = ctx
            .host
            .exec(&format!("getent passwd {}", sh_quote(&user)))
            .await?;
        let fields: Vec<String> = pw
            .stdout_str()
            .trim()
            .split(':')
            .map(str::to_string)
            .collect();
        if pw.rc != 0 || fields.len() < 6 {
            return Err(ModuleError::Failed(format!(
                "authorized_key: user '{user}' does not exist on this host"
            )));
        }
        let (uid, gid, home) = (&fields[2], &fields[3], &fields[5]);
        let path = args
            .string("path")
            .unwrap_or_else(|| format!("{home}/.ssh/authorized_keys"));
        let dir = path.rsplit_once('/').map_or(".", |(d, _)| d).to_string();
        let mut file = ConfigFile::read(ctx, &path).await?;
        let old = file.before.clone().unwrap_or_default();
        let new = new_text(&old, &wanted, present, args.bool("exclusive"));
        if file.before.is_some() || !new.is_empty() {
            file.after = Some(new);
        }
        let result = ModuleResult::ok()
            .with("user", user.clone())
            .with("key", text.clone())
            .with("keyfile", path.clone())
            .with("exclusive", args.bool("exclusive"));
        if !file.changed() {
            return Ok(Plan::Done(result));
        }
        let mut steps = Steps::default();
        if file.before.is_none() && args.bool("manage_dir") {
            steps.run(format!(
                "[ -d {d} ] || install -d -m 0700 -o {uid} -g {gid} {d}",
                d = sh_quote(&dir)
            ));
        }
        let created = file.before.is_none();
        let mut preview = result;
        preview.changed = true;
        add_diffs(&mut preview, &[&file], vec![]);
        steps.file(file);
        if created {
            // A new file belongs to the user and is private, as sshd requires.
            steps.run(format!(
                "chown {uid}:{gid} {p} && chmod 0600 {p}",
                p = sh_quote(&path)
            ));
        }
        Ok(Plan::change(preview, crate::Work::Steps(steps)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_options_type_blob_comment() {
        let k =
            parse_key(r#"from="10.0.0.1,host a",no-pty ssh-ed25519 AAAAC3Nz me@laptop"#).unwrap();
        assert_eq!(
            k.options.as_deref(),
            Some(r#"from="10.0.0.1,host a",no-pty"#)
        );
        assert_eq!(
            (k.kind.as_str(), k.blob.as_str()),
            ("ssh-ed25519", "AAAAC3Nz")
        );
        assert_eq!(k.comment.as_deref(), Some("me@laptop"));
        assert_eq!(parse_key("# a comment"), None);
        assert_eq!(parse_key("ssh-rsa"), None);
    }
}
