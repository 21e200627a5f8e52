//! apt_repository (a one-line `.list` file) and deb822_repository (a `.sources` file). The
//! file is written, then `apt-get update` proves the repository works; if it does not (a
//! missing key, a wrong URL), the file is put back as it was, so one bad repository never
//! breaks every later `apt-get update`.

use async_trait::async_trait;

use super::apt::{apt_get, update_failed, update_messages, MISSING_KEYS};
use crate::files::content::sha1_hex;
use crate::hostfs::Attrs;
use crate::spec::{arg, ArgType::*, ModuleSpec};
use crate::{
    Apply, ApplyContext, Args, FileDiff, ModResult, Module, ModuleError, ModuleResult, Plan,
    PlanContext,
};

pub struct AptRepository;
pub struct Deb822Repository;

static APT_REPOSITORY: ModuleSpec = ModuleSpec::new(
    "apt_repository",
    "Add or remove a `deb [signed-by=...] URI suite components` line in sources.list.d.",
    &[
        arg("repo", Str, "The sources line.").required(),
        arg("state", Str, "Whether the line should be there.")
            .default("\"present\"")
            .choices(&["present", "absent"]),
        arg(
            "filename",
            Str,
            "File name in /etc/apt/sources.list.d/, without .list (default: from the URI).",
        ),
        arg(
            "update_cache",
            Bool,
            "Run apt-get update after a change (and undo the change if it fails).",
        )
        .default("true")
        .aliases(&["update-cache"]),
        arg("mode", Mode, "Permissions of the file.").default("\"0644\""),
        arg("lock_timeout", Int, "Seconds to wait for the dpkg lock.").default("180"),
    ],
);

static DEB822_REPOSITORY: ModuleSpec = ModuleSpec::new(
    "deb822_repository",
    "Manage a repository as a deb822 `.sources` file in sources.list.d.",
    &[
        arg(
            "name",
            Str,
            "Repository name: the file is /etc/apt/sources.list.d/<name>.sources.",
        )
        .required(),
        arg("uris", List, "Repository URIs.").required(),
        arg(
            "suites",
            List,
            "Suites (a path ending in / for flat repositories).",
        )
        .required(),
        arg(
            "components",
            List,
            "Components (none for flat repositories).",
        ),
        arg("types", List, "deb and/or deb-src.").default("[\"deb\"]"),
        arg(
            "signed_by",
            Str,
            "Key file path (or the key itself, armoured).",
        ),
        arg("architectures", List, "Architectures."),
        arg("enabled", Bool, "Whether the repository is used.").default("true"),
        arg("state", Str, "Whether the file should be there.")
            .default("\"present\"")
            .choices(&["present", "absent"]),
        arg(
            "update_cache",
            Bool,
            "Run apt-get update after a change (and undo the change if it fails).",
        )
        .default("false")
        .aliases(&["update-cache"]),
        arg("mode", Mode, "Permissions of the file.").default("\"0644\""),
        arg("lock_timeout", Int, "Seconds to wait for the dpkg lock.").default("180"),
    ],
);

/// Ansible's default file name: the URI's host and path with every other character as `_`.
fn filename_for(repo: &str) -> String {
    let uri = repo
        .split_whitespace()
        .find(|w| w.contains(':') && !w.starts_with('[') && !w.contains('='))
        .unwrap_or(repo);
    let bare = uri
        .split_once("://")
        .map(|(_, r)| r)
        .unwrap_or(uri.trim_start_matches("file:"));
    let name: String = bare
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let name = name.trim_matches('_').to_string();
    if name.is_empty() {
        "repository".into()
    } else {
        name
    }
}

fn normalize(line: &str) -> String {
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

struct SourceFile {
    path: String,
    old: Option<Vec<u8>>,
    new: Option<Vec<u8>>,
    update: bool,
}

/// Plans writing (Some) or removing (None) the sources file.
async fn plan_file(
    ctx: &PlanContext<'_>,
    path: &str,
    new: Option<String>,
    args: &Args,
) -> ModResult<Plan> {
    let (_, old) = ctx.host.read_stat(path).await?;
    let same = match (&old, &new) {
        (None, None) => true,
        (Some(o), Some(n)) => sha1_hex(o) == sha1_hex(n.as_bytes()),
        _ => false,
    };
    let result = ModuleResult::ok().with("sources_file", path);
    if same {
        return Ok(Plan::Done(result));
    }
    let mut preview = result;
    preview.changed = true;
    if ctx.diff {
        let text = |b: &Option<Vec<u8>>| {
            b.as_ref()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default()
        };
        preview.diffs.push(FileDiff::new(
            path,
            text(&old),
            new.clone().unwrap_or_default(),
        ));
    }
    let update = args.bool("update_cache");
    Ok(Plan::change(
        preview,
        crate::Work::custom(SourceFile {
            path: path.to_string(),
            old,
            new: new.map(String::into_bytes),
            update,
        }),
    ))
}

#[async_trait]
impl Apply for SourceFile {
    async fn apply(
        self: Box<Self>,
        ctx: &ApplyContext<'_>,
        args: &Args,
        preview: ModuleResult,
    ) -> ModResult<ModuleResult> {
        apply_file(ctx, args, preview, *self).await
    }
}

async fn apply_file(
    ctx: &ApplyContext<'_>,
    args: &Args,
    mut preview: ModuleResult,
    w: SourceFile,
) -> ModResult<ModuleResult> {
    let attrs = Attrs {
        mode: args.string("mode"),
        owner: None,
        group: None,
    };
    let q = crate::connection::sh_quote(&w.path);
    match &w.new {
        Some(n) => ctx.host.write_atomic(&w.path, n, &attrs, None).await?,
        None => {
            ctx.host.exec_ok(&format!("rm -f -- {q}")).await?;
        }
    }
    if w.update {
        let out = ctx.host.exec(&format!("{} update", apt_get(args))).await?;
        let (so, se) = (out.stdout_str(), out.stderr_str());
        if update_failed(out.rc, &so, &se) {
            let missing = ctx.host.exec(MISSING_KEYS).await?.stdout_str();
            // Put the file back as it was.
            match &w.old {
                Some(o) => ctx.host.write_atomic(&w.path, o, &attrs, None).await?,
                None => {
                    ctx.host.exec_ok(&format!("rm -f -- {q}")).await?;
                }
            }
            let hint = match missing.lines().next() {
                Some(k) => format!(" (the key file {k} named by signed-by does not exist)"),
                None => String::new(),
            };
            return Err(ModuleError::Failed(format!(
                "apt-get update failed with the new repository{hint}, so {} was restored as it was: {}",
                w.path,
                update_messages(&so, &se)
            )));
        }
        preview = preview.with("cache_updated", true);
    }
    Ok(preview)
}

#[async_trait]
impl Module for AptRepository {
    fn spec(&self) -> &'static ModuleSpec {
        &APT_REPOSITORY
    }

    async fn plan(&self, ctx: &PlanContext<'_>, args: &Args) -> ModResult<Plan> {
        let repo = normalize(args.str("repo").unwrap_or(""));
        if !(repo.starts_with("deb ") || repo.starts_with("deb-src ")) {
            return Err(ModuleError::Failed(format!(
                "'{repo}' is not a sources line: it starts with deb or deb-src"
            )));
        }
        let name = args
            .string("filename")
            .unwrap_or_else(|| filename_for(&repo));
        let path = format!(
            "/etc/apt/sources.list.d/{}.list",
            name.trim_end_matches(".list")
        );
        let (_, old) = ctx.host.read_stat(&path).await?;
        let old_text = old
            .map(|o| String::from_utf8_lossy(&o).into_owned())
            .unwrap_or_default();
        let mut lines: Vec<String> = old_text.lines().map(str::to_string).collect();
        let present = lines.iter().any(|l| normalize(l) == repo);
        let new = if args.str("state") == Some("absent") {
            lines.retain(|l| normalize(l) != repo);
            if lines
                .iter()
                .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
            {
                None
            } else {
                Some(lines.join("\n") + "\n")
            }
        } else if present {
            Some(old_text)
        } else {
            lines.push(repo);
            Some(lines.join("\n") + "\n")
        };
        plan_file(ctx, &path, new, args).await
    }
}

#[async_trait]
impl Module for Deb822Repository {
    fn spec(&self) -> &'static ModuleSpec {
        &DEB822_REPOSITORY
    }

    async fn plan(&self, ctx: &PlanContext<'_>, args: &Args) -> ModResult<Plan> {
        let name = args.string("name").unwrap_or_default();
        let path = format!("/etc/apt/sources.list.d/{name}.sources");
        let words = |k: &str| -> String { args.strings(k).join(" ") };
        let new = if args.str("state") == Some("absent") {
            None
        } else {
            let mut s = format!(
                "X-Repolib-Name: {name}\nTypes: {}\nURIs: {}\nSuites: {}\n",
                words("types"),
                words("uris"),
                words("suites")
            );
            let components = words("components");
            if !components.is_empty() {
                s.push_str(&format!("Components: {components}\n"));
            }
            let arch = words("architectures");
            if !arch.is_empty() {
                s.push_str(&format!("Architectures: {arch}\n"));
            }
            if let Some(k) = args.str("signed_by") {
                if k.contains("BEGIN PGP") {
                    // An embedded key: continuation lines, blank lines as ".".
                    s.push_str("Signed-By:\n");
                    for l in k.trim().lines() {
                        s.push_str(&format!(
                            " {}\n",
                            if l.trim().is_empty() { "." } else { l.trim() }
                        ));
                    }
                } else {
                    s.push_str(&format!("Signed-By: {k}\n"));
                }
            }
            if !args.bool("enabled") {
                s.push_str("Enabled: no\n");
            }
            Some(s)
        };
        plan_file(ctx, &path, new, args).await
    }
}

#[cfg(test)]
mod tests {
    use super::filename_for;
    #[test]
    fn default_file_names() {
        assert_eq!(filename_for("deb [signed-by=/etc/apt/keyrings/k.gpg] https://pkgs.k8s.io/core:/stable:/v1.31/deb/ /"), "pkgs_k8s_io_core__stable__v1_31_deb");
        assert_eq!(filename_for("deb file:/srv/repo ./"), "srv_repo");
    }
}
