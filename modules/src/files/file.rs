use async_trait::async_trait;

use crate::connection::sh_quote;
use crate::hostfs::{FileKind, FileStat};
use crate::spec::{arg, ArgType::*, ModuleSpec, ATTR_ARGS, SELINUX_ARGS};
use crate::{Args, FileDiff, ModResult, Module, ModuleError, ModuleResult, Plan, PlanContext};

pub struct File;

static SPEC: ModuleSpec = ModuleSpec::new(
    "file",
    "Manage files, directories, links and their attributes.",
    &[
        arg("path", Path, "Path to manage.")
            .required()
            .aliases(&["dest", "name"]),
        arg(
            "state",
            Str,
            "What the path should be; by default what it already is, or file.",
        )
        .choices(&["file", "directory", "link", "hard", "absent", "touch"]),
        arg("src", Path, "Target of the link (state=link or hard)."),
        arg(
            "recurse",
            Bool,
            "Apply attributes to everything under a directory.",
        )
        .default("false"),
        arg(
            "force",
            Bool,
            "Replace an existing file or directory with a link.",
        )
        .default("false"),
        arg("follow", Bool, "Follow symlinks when setting attributes.").default("true"),
        ATTR_ARGS[0],
        ATTR_ARGS[1],
        ATTR_ARGS[2],
        SELINUX_ARGS[0],
        SELINUX_ARGS[1],
        SELINUX_ARGS[2],
        SELINUX_ARGS[3],
    ],
);

fn kind_name(st: Option<&FileStat>) -> &'static str {
    match st.map(|s| &s.kind) {
        None => "absent",
        Some(FileKind::File) => "file",
        Some(FileKind::Directory) => "directory",
        Some(FileKind::Link) => "link",
        Some(FileKind::Other) => "special",
    }
}

fn fail<T>(msg: String) -> ModResult<T> {
    Err(ModuleError::Failed(msg))
}

/// Whether an absolute `path` names `/` (`/`, `//`, `/.`, `/tmp/..`).
fn is_root(path: &str) -> bool {
    if !path.starts_with('/') {
        return false;
    }
    let mut depth: Vec<&str> = vec![];
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                depth.pop();
            }
            p => depth.push(p),
        }
    }
    depth.is_empty()
}

#[async_trait]
impl Module for File {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn plan(&self, ctx: &PlanContext<'_>, args: &Args) -> ModResult<Plan> {
        let path = args.string("path").unwrap_or_default();
        let p = sh_quote(&path);
        let st = ctx.host.stat(&path, false).await?;
        let attrs = args.attrs();
        let recurse = args.bool("recurse");
        let state = match args.str("state") {
            Some(s) => s.to_string(),
            None if recurse => "directory".into(),
            None => match kind_name(st.as_ref()) {
                "absent" => "file".into(),
                k => k.into(),
            },
        };
        if is_root(&path) && (state == "absent" || (recurse && !attrs.is_empty())) {
            let what = if state == "absent" {
                "remove"
            } else {
                "change ownership or modes recursively from"
            };
            return Err(ModuleError::Failed(format!(
                "file: refusing to {what} the root directory (path: {path:?}); name the \
                 directory below / that you mean"
            )));
        }
        let before = kind_name(st.as_ref());
        let mut cmds = String::new();
        let base = ModuleResult::ok()
            .with("path", path.clone())
            .with("state", state.clone());
        match state.as_str() {
            "absent" => {
                if st.is_some() {
                    cmds = format!("rm -rf -- {p}");
                }
            }
            "directory" => match &st {
                // Like Ansible, every directory created gets the requested attributes.
                None => {
                    let each = attrs.commands("\"$m\"");
                    cmds = if each.is_empty() {
                        // No attributes to give each new directory: no need to find them.
                        format!("mkdir -p -- {p}")
                    } else {
                        format!(
                            "p={p}; d=\"$p\"; new=''; while [ ! -e \"$d\" ]; do new=\"$d\n$new\"; d=$(dirname -- \"$d\"); done; \
                             mkdir -p -- \"$p\" || exit 1; printf '%b' \"$new\" | while IFS= read -r m; do [ -n \"$m\" ] || continue; {each}done"
                        )
                    };
                }
                Some(s)
                    if s.kind == FileKind::Directory
                        || (s.kind == FileKind::Link
                            && args.bool("follow")
                            && ctx
                                .host
                                .stat(&path, true)
                                .await?
                                .is_some_and(|t| t.kind == FileKind::Directory)) =>
                {
                    let cur = if s.kind == FileKind::Link {
                        ctx.host.stat(&path, true).await?.unwrap_or(s.clone())
                    } else {
                        s.clone()
                    };
                    if !attrs.differences(&cur).is_empty() {
                        cmds = attrs.commands(&p);
                    }
                    if recurse && !attrs.is_empty() {
                        let mut conds = Vec::new();
                        if let Some(o) = &attrs.owner {
                            conds.push(format!("! -user {}", sh_quote(o)));
                        }
                        if let Some(g) = &attrs.group {
                            conds.push(format!("! -group {}", sh_quote(g)));
                        }
                        if let Some(m) = attrs
                            .mode
                            .as_deref()
                            .filter(|m| m.chars().all(|c| c.is_ascii_digit()))
                        {
                            conds.push(format!("! -perm {m}"));
                        }
                        let probe = format!("find {p} \\( {} \\) -print -quit", conds.join(" -o "));
                        let differs =
                            !conds.is_empty() && !ctx.host.exec_ok(&probe).await?.stdout.is_empty();
                        if differs
                            || (attrs.mode.is_some()
                                && conds.len()
                                    < usize::from(attrs.owner.is_some())
                                        + usize::from(attrs.group.is_some())
                                        + 1)
                        {
                            let mut r = String::new();
                            if let Some(o) = &attrs.owner {
                                r.push_str(&format!("chown -R {} {p} && ", sh_quote(o)));
                            }
                            if let Some(g) = &attrs.group {
                                r.push_str(&format!("chgrp -R {} {p} && ", sh_quote(g)));
                            }
                            if let Some(m) = &attrs.mode {
                                r.push_str(&format!("chmod -R {} {p} && ", sh_quote(m)));
                            }
                            cmds = format!("{r}true");
                        }
                    }
                }
                Some(_) => {
                    return fail(format!(
                        "{path} already exists as a {before}, not a directory"
                    ))
                }
            },
            "file" => match &st {
                None => {
                    return fail(format!(
                        "file ({path}) is absent, cannot continue (use state: touch to create it)"
                    ))
                }
                Some(s) if s.kind == FileKind::Directory => {
                    return fail(format!(
                        "{path} is a directory, not a file (use state: directory)"
                    ))
                }
                Some(s) => {
                    let cur = if s.kind == FileKind::Link && args.bool("follow") {
                        ctx.host.stat(&path, true).await?.unwrap_or(s.clone())
                    } else {
                        s.clone()
                    };
                    if !attrs.differences(&cur).is_empty() {
                        cmds = attrs.commands(&p);
                    }
                }
            },
            "touch" => cmds = format!("touch -- {p} && {}", attrs.commands(&p)),
            "link" | "hard" => {
                let Some(src) = args.string("src") else {
                    return fail(format!("src is required for state={state}"));
                };
                let s = sh_quote(&src);
                let same = match (&st, state.as_str()) {
                    (Some(cur), "link") => {
                        cur.kind == FileKind::Link
                            && cur.link_target.as_deref() == Some(src.as_str())
                    }
                    (Some(_), _) => ctx.host.exec(&format!("[ {p} -ef {s} ]")).await?.rc == 0,
                    (None, _) => false,
                };
                if !same {
                    if let Some(cur) = &st {
                        if cur.kind != FileKind::Link
                            && !args.bool("force")
                            && (state == "link" || cur.kind == FileKind::Directory)
                        {
                            return fail(format!(
                                "refusing to convert {path} from {before} to {state} without force: true"
                            ));
                        }
                    }
                    let flag = if state == "link" { "-sfn" } else { "-f" };
                    let rm = if st.as_ref().is_some_and(|c| c.kind == FileKind::Directory) {
                        format!("rm -rf -- {p} && ")
                    } else {
                        String::new()
                    };
                    cmds = format!("{rm}ln {flag} -- {s} {p}");
                }
            }
            _ => unreachable!("choices are validated"),
        }
        if cmds.is_empty() {
            return Ok(Plan::Done(base));
        }
        let mut preview = base;
        preview.changed = true;
        if ctx.diff {
            let after = if state == "touch" && st.is_some() {
                before.to_string()
            } else {
                state.clone()
            };
            let mut b = format!("path: {path}\nstate: {before}\n");
            let mut a = format!("path: {path}\nstate: {after}\n");
            if let Some(cur) = &st {
                for (what, old, new) in attrs.differences(cur) {
                    b.push_str(&format!("{what}: {old}\n"));
                    a.push_str(&format!("{what}: {new}\n"));
                }
            }
            preview.diffs.push(FileDiff::new(&path, b, a));
        }
        let cmds = cmds
            .trim_end()
            .trim_end_matches("&&")
            .trim_end()
            .trim_end_matches(';')
            .to_string();
        Ok(Plan::command(preview, cmds))
    }
}

#[cfg(test)]
mod tests {
    use super::is_root;

    #[test]
    fn root_in_any_spelling() {
        for p in ["/", "//", "/.", "/./", "/tmp/..", "/a/b/../../"] {
            assert!(is_root(p), "{p}");
        }
        for p in ["/tmp", "tmp/..", "", "/a/..b", "/.."] {
            assert_eq!(is_root(p), p == "/..", "{p}");
        }
    }
}
