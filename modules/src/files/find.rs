//! find: files on the host by name pattern, type, age and size, as Ansible's find module
//! reports them (`files` with stat-like fields, `matched`, `examined`). One `find -printf`
//! lists the candidates; the filters are Ansible's and run here. Read-only.

use async_trait::async_trait;
use regex::Regex;
use serde_json::{json, Value};

use crate::connection::sh_quote;
use crate::spec::{arg, ArgType::*, ModuleSpec};
use crate::{Args, ModResult, Module, ModuleError, ModuleResult, Plan, PlanContext};

pub struct Find;

static SPEC: ModuleSpec = ModuleSpec::new(
    "find",
    "Find files on the host by name pattern, type, age and size (read-only).",
    &[
        arg("paths", List, "Directories to search.")
            .required()
            .aliases(&["name", "path"]),
        arg(
            "patterns",
            List,
            "Shell globs (or regexes with use_regex) the base name must match.",
        )
        .default("[\"*\"]")
        .aliases(&["pattern"]),
        arg(
            "excludes",
            List,
            "Globs (or regexes) of base names to leave out.",
        )
        .aliases(&["exclude"]),
        arg(
            "use_regex",
            Bool,
            "Patterns are Python-style regexes matched at the start.",
        )
        .default("false"),
        arg("file_type", Str, "What to find.")
            .default("\"file\"")
            .choices(&["file", "directory", "link", "any"]),
        arg("recurse", Bool, "Descend into subdirectories.").default("false"),
        arg("depth", Int, "With recurse: how many levels deep at most."),
        arg("hidden", Bool, "Include names starting with a dot.").default("false"),
        arg("follow", Bool, "Follow symbolic links.").default("false"),
        arg(
            "age",
            Str,
            "At least this old (e.g. 2d, 4w); negative: at most this old.",
        ),
        arg("age_stamp", Str, "The time age compares.")
            .default("\"mtime\"")
            .choices(&["atime", "ctime", "mtime"]),
        arg(
            "size",
            Str,
            "At least this big (e.g. 10m); negative: at most this big.",
        ),
        arg(
            "get_checksum",
            Bool,
            "Not supported: use stat on the files found.",
        )
        .default("false"),
        arg("contains", Str, "Not supported: use grep through command."),
    ],
);

/// Python's fnmatch.translate, whole-name.
fn glob_regex(p: &str) -> String {
    let mut out = String::from("^(?s:");
    let chars: Vec<char> = p.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '*' => out.push_str(".*"),
            '?' => out.push('.'),
            '[' => match chars[i + 1..].iter().position(|c| *c == ']') {
                Some(end) if end > 0 || chars.get(i + 1) == Some(&']') => {
                    let set: String = chars[i + 1..i + 1 + end.max(1)].iter().collect();
                    let set = set
                        .strip_prefix('!')
                        .map_or(set.clone(), |s| format!("^{s}"));
                    out.push_str(&format!("[{}]", set.replace('\\', "\\\\")));
                    i += end.max(1) + 1;
                }
                _ => out.push_str("\\["),
            },
            c => out.push_str(&regex::escape(&c.to_string())),
        }
        i += 1;
    }
    out.push_str(")$");
    out
}

fn matchers(list: &[String], use_regex: bool) -> Result<Vec<Regex>, ModuleError> {
    list.iter()
        .map(|p| {
            let src = if use_regex {
                format!("^(?:{p})")
            } else {
                glob_regex(p)
            };
            Regex::new(&src)
                .map_err(|e| ModuleError::Failed(format!("find: bad pattern '{p}': {e}")))
        })
        .collect()
}

/// `10m`, `-2d`: a number with a unit and a sign; `None` if unreadable.
fn amount(text: &str, units: &[(char, f64)]) -> Option<f64> {
    let t = text.trim().to_ascii_lowercase();
    let (num, mult) = match t.chars().last() {
        Some(c) if c.is_ascii_alphabetic() => {
            let m = units.iter().find(|(u, _)| *u == c)?.1;
            (&t[..t.len() - 1], m)
        }
        _ => (t.as_str(), 1.0),
    };
    num.parse::<f64>().ok().map(|n| n * mult)
}

const PRINTF: &str =
    "%y\\t%m\\t%U\\t%G\\t%s\\t%T@\\t%A@\\t%C@\\t%u\\t%g\\t%n\\t%i\\t%D\\t%d\\t%p\\0";

#[async_trait]
impl Module for Find {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn plan(&self, ctx: &PlanContext<'_>, args: &Args) -> ModResult<Plan> {
        if args.string("contains").is_some() || args.bool("get_checksum") {
            return Err(ModuleError::Failed(
                "find: contains and get_checksum are not supported by timonel; filter the files with command (grep) or stat them".into(),
            ));
        }
        let use_regex = args.bool("use_regex");
        let patterns = matchers(&args.strings("patterns"), use_regex)?;
        let excludes = matchers(&args.strings("excludes"), use_regex)?;
        let want = args.str("file_type").unwrap_or("file").to_string();
        let hidden = args.bool("hidden");
        let max_depth = if args.bool("recurse") {
            args.get("depth")
                .and_then(Value::as_i64)
                .unwrap_or(i64::MAX)
        } else {
            1
        };
        let age = match args.str("age") {
            Some(a) => Some(
                amount(
                    a,
                    &[
                        ('s', 1.0),
                        ('m', 60.0),
                        ('h', 3600.0),
                        ('d', 86400.0),
                        ('w', 604800.0),
                    ],
                )
                .ok_or_else(|| {
                    ModuleError::Failed(format!(
                        "find: age '{a}' is not like 30s, 10m, 2h, 5d or 1w"
                    ))
                })?,
            ),
            None => None,
        };
        let size = match args.str("size") {
            Some(s) => Some(
                amount(
                    s,
                    &[
                        ('b', 1.0),
                        ('k', 1024.0),
                        ('m', 1048576.0),
                        ('g', 1073741824.0),
                        ('t', 1099511627776.0),
                    ],
                )
                .ok_or_else(|| {
                    ModuleError::Failed(format!("find: size '{s}' is not like 100b, 10k, 5m or 1g"))
                })?,
            ),
            None => None,
        };
        let stamp = match args.str("age_stamp").unwrap_or("mtime") {
            "atime" => 6,
            "ctime" => 7,
            _ => 5,
        };
        let follow = if args.bool("follow") { "-L " } else { "" };
        let mut files = vec![];
        let mut examined = 0;
        let mut skipped = serde_json::Map::new();
        let now = ctx
            .host
            .exec_ok("date +%s")
            .await?
            .stdout_str()
            .trim()
            .parse::<f64>()
            .unwrap_or(0.0);
        for root in args.strings("paths") {
            let cmd = format!(
                "find {follow}{} -mindepth 1 -printf '{PRINTF}'",
                sh_quote(&root)
            );
            let out = ctx.host.exec(&cmd).await?;
            if out.rc != 0 && out.stdout.is_empty() {
                skipped.insert(
                    root.clone(),
                    Value::String(out.stderr_str().trim().to_string()),
                );
                continue;
            }
            for rec in out.stdout_str().split('\0').filter(|r| !r.is_empty()) {
                let f: Vec<&str> = rec.splitn(15, '\t').collect();
                if f.len() < 15 {
                    continue;
                }
                let depth: i64 = f[13].parse().unwrap_or(0);
                // Ansible counts everything in the directories it walks: the top one, or
                // with recurse every one down to `depth` (whose entries lie one deeper).
                let walked = if args.bool("recurse") {
                    max_depth.saturating_add(1)
                } else {
                    1
                };
                if depth <= walked {
                    examined += 1;
                }
                if depth > max_depth {
                    continue;
                }
                let path = f[14];
                let base = path.rsplit('/').next().unwrap_or(path);
                // As in Ansible, only the name itself counts: a hidden directory is left out,
                // what is in it is not.
                if !hidden && base.starts_with('.') {
                    continue;
                }
                let kind = f[0];
                let type_ok = match want.as_str() {
                    "file" => kind == "f",
                    "directory" => kind == "d",
                    "link" => kind == "l",
                    _ => true,
                };
                if !type_ok
                    || !patterns.iter().any(|r| r.is_match(base))
                    || excludes.iter().any(|r| r.is_match(base))
                {
                    continue;
                }
                let num = |i: usize| f[i].parse::<f64>().unwrap_or(0.0);
                if let Some(a) = age {
                    let old = now - num(stamp);
                    if (a >= 0.0 && old < a) || (a < 0.0 && old > a.abs()) {
                        continue;
                    }
                }
                if let Some(s) = size {
                    let sz = num(4);
                    if (s >= 0.0 && sz < s) || (s < 0.0 && sz > s.abs()) {
                        continue;
                    }
                }
                let mode = u32::from_str_radix(f[1], 8).unwrap_or(0);
                files.push(json!({
                    "path": path,
                    "mode": format!("{mode:04o}"),
                    "isdir": kind == "d", "isreg": kind == "f", "islnk": kind == "l",
                    "ischr": kind == "c", "isblk": kind == "b", "isfifo": kind == "p", "issock": kind == "s",
                    "uid": num(2) as u64, "gid": num(3) as u64, "size": num(4) as u64,
                    "mtime": num(5), "atime": num(6), "ctime": num(7),
                    "pw_name": f[8], "gr_name": f[9], "nlink": num(10) as u64,
                    "inode": num(11) as u64, "dev": num(12) as u64,
                    "rusr": mode & 0o400 != 0, "wusr": mode & 0o200 != 0, "xusr": mode & 0o100 != 0,
                    "rgrp": mode & 0o40 != 0, "wgrp": mode & 0o20 != 0, "xgrp": mode & 0o10 != 0,
                    "roth": mode & 0o4 != 0, "woth": mode & 0o2 != 0, "xoth": mode & 0o1 != 0,
                }));
            }
        }
        let matched = files.len();
        Ok(Plan::Done(
            ModuleResult::ok()
                .with("files", Value::Array(files))
                .with("matched", matched)
                .with("examined", examined)
                .with("skipped_paths", Value::Object(skipped)),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_as_fnmatch() {
        let r = |p: &str| Regex::new(&glob_regex(p)).unwrap();
        assert!(r("*.log").is_match("app.log") && !r("*.log").is_match("app.log.1"));
        assert!(r("app-?.[ch]").is_match("app-1.c") && !r("app-?.[!ch]").is_match("app-1.c"));
        assert!(r("a+b(c)").is_match("a+b(c)"));
        assert_eq!(amount("-2d", &[('d', 86400.0)]), Some(-172800.0));
        assert_eq!(amount("10", &[]), Some(10.0));
        assert_eq!(amount("2x", &[('d', 1.0)]), None);
    }
}
