use async_trait::async_trait;
use serde_json::{json, Value};

use crate::hostfs::FileKind;
use crate::spec::{arg, ArgType::*, ModuleSpec};
use crate::{Args, ModResult, Module, ModuleResult, Plan, PlanContext};

pub struct Stat;

static SPEC: ModuleSpec = ModuleSpec::new(
    "stat",
    "Report facts about a path (exists, isdir, mode, owner, checksum...).",
    &[
        arg("path", Path, "Path to examine.")
            .required()
            .aliases(&["dest", "name"]),
        arg("follow", Bool, "Follow symlinks.").default("false"),
        arg(
            "get_checksum",
            Bool,
            "Include the SHA-1 checksum of regular files.",
        )
        .default("true"),
        arg("checksum_algorithm", Str, "The checksum's algorithm.")
            .default("\"sha1\"")
            .choices(&["md5", "sha1", "sha224", "sha256", "sha384", "sha512"])
            .aliases(&["checksum", "checksum_algo"]),
        arg(
            "get_mime",
            Bool,
            "Include mimetype and charset (from `file`).",
        )
        .default("true")
        .aliases(&["mime", "mime_type", "mime-type"]),
        arg(
            "get_attributes",
            Bool,
            "Include the file attributes lsattr shows (attributes, attr_flags, version).",
        )
        .default("true")
        .aliases(&["attr", "attributes"]),
    ],
);

/// lsattr's flag letters as Ansible names them.
const ATTRIBUTES: &[(char, &str)] = &[
    ('A', "noatime"),
    ('a', "append"),
    ('c', "compressed"),
    ('C', "nocow"),
    ('d', "nodump"),
    ('D', "dirsync"),
    ('e', "extents"),
    ('E', "encrypted"),
    ('h', "blocksize"),
    ('i', "immutable"),
    ('I', "indexed"),
    ('j', "journalled"),
    ('N', "inline"),
    ('s', "zero"),
    ('S', "synchronous"),
    ('t', "notail"),
    ('T', "blockroot"),
    ('u', "undelete"),
    ('X', "compressedraw"),
    ('Z', "compresseddirty"),
];

/// One command for what the plain stat lacks: the MIME type and charset, lsattr's
/// `version flags`, and a checksum other than SHA-1. Each answer on its own tagged line.
fn extras_script(path: &str, mime: bool, attrs: bool, alg: Option<&str>) -> String {
    let p = crate::connection::sh_quote(path);
    let mut s = String::new();
    if mime {
        s.push_str(&format!(
            "printf 'M:%s\\n' \"$(file -b --mime-type -- {p} 2>/dev/null)\"; printf 'E:%s\\n' \"$(file -b --mime-encoding -- {p} 2>/dev/null)\"; "
        ));
    }
    if attrs {
        s.push_str(&format!(
            "printf 'A:%s\\n' \"$(lsattr -vd -- {p} 2>/dev/null)\"; "
        ));
    }
    if let Some(a) = alg {
        s.push_str(&format!(
            "printf 'C:%s\\n' \"$({a}sum < {p} 2>/dev/null)\"; "
        ));
    }
    s
}

/// Adds what [`extras_script`] printed to the stat result.
fn add_extras(v: &mut Value, out: &str, mime: bool) {
    let tagged = |t: &str| out.lines().find_map(|l| l.strip_prefix(t)).map(str::trim);
    if mime {
        let or_unknown = |x: Option<&str>| {
            Value::String(x.filter(|s| !s.is_empty()).unwrap_or("unknown").to_string())
        };
        v["mimetype"] = or_unknown(tagged("M:"));
        v["charset"] = or_unknown(tagged("E:"));
    }
    if let Some(a) = tagged("A:").filter(|a| !a.is_empty()) {
        let mut f = a.split_whitespace();
        if let (Some(version), Some(flags)) = (f.next(), f.next()) {
            let flags: String = flags.chars().filter(|c| *c != '-').collect();
            let names: Vec<Value> = flags
                .chars()
                .filter_map(|c| ATTRIBUTES.iter().find(|(k, _)| *k == c))
                .map(|(_, n)| Value::String(n.to_string()))
                .collect();
            v["version"] = Value::String(version.to_string());
            v["attr_flags"] = Value::String(flags);
            v["attributes"] = Value::Array(names);
        }
    }
    if let Some(c) = tagged("C:").and_then(|c| c.split_whitespace().next()) {
        v["checksum"] = Value::String(c.to_string());
    }
}

/// Ansible's other stat fields: times, inode, device, links, the file type and mode bits.
fn add_more(v: &mut Value, m: &crate::hostfs::StatMore) {
    let mode = m.raw_mode;
    let kind = mode & 0o170000;
    let bit = |b: u32| Value::Bool(mode & b != 0);
    let fields = [
        ("atime", json!(m.atime)),
        ("ctime", json!(m.ctime)),
        ("inode", json!(m.inode)),
        ("dev", json!(m.dev)),
        ("nlink", json!(m.nlink)),
        ("blocks", json!(m.blocks)),
        ("block_size", json!(m.block_size)),
        ("ischr", Value::Bool(kind == 0o020000)),
        ("isblk", Value::Bool(kind == 0o060000)),
        ("isfifo", Value::Bool(kind == 0o010000)),
        ("issock", Value::Bool(kind == 0o140000)),
        ("isuid", bit(0o4000)),
        ("isgid", bit(0o2000)),
        ("rusr", bit(0o400)),
        ("wusr", bit(0o200)),
        ("xusr", bit(0o100)),
        ("rgrp", bit(0o040)),
        ("wgrp", bit(0o020)),
        ("xgrp", bit(0o010)),
        ("roth", bit(0o004)),
        ("woth", bit(0o002)),
        ("xoth", bit(0o001)),
    ];
    for (k, x) in fields {
        v[k] = x;
    }
}

#[async_trait]
impl Module for Stat {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn plan(&self, ctx: &PlanContext<'_>, args: &Args) -> ModResult<Plan> {
        let path = args.string("path").unwrap_or_default();
        let stat = match ctx.host.stat(&path, args.bool("follow")).await? {
            None => json!({"exists": false}),
            Some(s) => {
                let mut v = json!({
                    "exists": true,
                    "path": path,
                    "isdir": s.kind == FileKind::Directory,
                    "isreg": s.kind == FileKind::File,
                    "islnk": s.kind == FileKind::Link,
                    "mode": format!("{:04o}", s.mode),
                    "uid": s.uid,
                    "gid": s.gid,
                    "pw_name": s.owner,
                    "gr_name": s.group,
                    "size": s.size,
                    "mtime": s.mtime,
                    "lnk_source": s.link_target,
                    "lnk_target": s.link_target,
                });
                if let Some(m) = &s.more {
                    add_more(&mut v, m);
                }
                let alg = args.str("checksum_algorithm").unwrap_or("sha1");
                let sum = args.bool("get_checksum") && s.kind == FileKind::File;
                if sum && alg == "sha1" {
                    if let Some(c) = s.checksum {
                        v["checksum"] = Value::String(c);
                    }
                }
                let (mime, attrs) = (args.bool("get_mime"), args.bool("get_attributes"));
                let other_sum = (sum && alg != "sha1").then_some(alg);
                if mime || attrs || other_sum.is_some() {
                    let out = ctx
                        .host
                        .exec(&extras_script(&path, mime, attrs, other_sum))
                        .await?;
                    add_extras(&mut v, &out.stdout_str(), mime);
                }
                v
            }
        };
        Ok(Plan::Done(ModuleResult::ok().with("stat", stat)))
    }
}
