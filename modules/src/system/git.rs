//! git: a checkout of a repository at a version (branch, tag, commit or the remote's HEAD) on
//! the host, with git there. The plan asks the remote (`git ls-remote`) which commit the
//! version is, so check mode says whether the checkout would move, as Ansible's does.

use async_trait::async_trait;

use crate::connection::sh_quote;
use crate::spec::{arg, ArgType::*, ModuleSpec};
use crate::{
    Apply, ApplyContext, Args, FileDiff, ModResult, Module, ModuleError, ModuleResult, Plan,
    PlanContext, Work,
};

pub struct Git;

static SPEC: ModuleSpec = ModuleSpec::new(
    "git",
    "Clone a git repository on the host, or update a checkout to a version.",
    &[
        arg("repo", Str, "The repository's URL or path.")
            .required()
            .aliases(&["name"]),
        arg("dest", Path, "Where the checkout is.").required(),
        arg(
            "version",
            Str,
            "Branch, tag or commit (default: the remote's HEAD).",
        )
        .default("\"HEAD\""),
        arg(
            "force",
            Bool,
            "Discard local modifications of tracked files.",
        )
        .default("false"),
        arg("depth", Int, "A shallow clone with this many commits."),
        arg(
            "update",
            Bool,
            "Update an existing checkout to the version.",
        )
        .default("true"),
        arg("clone", Bool, "Clone when dest doesn't exist.").default("true"),
        arg("remote", Str, "The remote's name.").default("\"origin\""),
        arg(
            "accept_hostkey",
            Bool,
            "Accept the SSH server's host key if unknown.",
        )
        .default("false"),
        arg(
            "accept_newhostkey",
            Bool,
            "Accept a new (never a changed) SSH host key.",
        )
        .default("false"),
        arg("key_file", Path, "The SSH key for the repository."),
        arg("ssh_opts", Str, "More ssh options."),
        arg("executable", Path, "The git to run.").default("\"git\""),
        arg("single_branch", Bool, "Clone only the version's branch.").default("false"),
        arg("umask", Raw, "Accepted; git runs with the login's umask."),
    ],
)
.also_known_as(&["ansible.builtin.git"]);

struct Ctx {
    git: String,
    env: String,
}

impl Ctx {
    fn of(args: &Args) -> Ctx {
        let mut ssh = vec![];
        if args.bool("accept_hostkey") {
            ssh.push("-o StrictHostKeyChecking=no".to_string());
        } else if args.bool("accept_newhostkey") {
            ssh.push("-o StrictHostKeyChecking=accept-new".to_string());
        }
        if let Some(k) = args.str("key_file") {
            ssh.push(format!("-i {} -o IdentitiesOnly=yes", sh_quote(k)));
        }
        if let Some(o) = args.str("ssh_opts") {
            ssh.push(o.to_string());
        }
        let env = if ssh.is_empty() {
            String::new()
        } else {
            format!(
                "GIT_SSH_COMMAND={} ",
                sh_quote(&format!("ssh {}", ssh.join(" ")))
            )
        };
        Ctx {
            git: sh_quote(args.str("executable").unwrap_or("git")),
            env,
        }
    }

    fn run(&self, rest: &str) -> String {
        format!("{}GIT_TERMINAL_PROMPT=0 {} {rest}", self.env, self.git)
    }
}

/// What a version is on the remote.
#[derive(Debug, Clone, PartialEq)]
enum Target {
    Head(String),
    Branch(String, String),
    Tag(String, String),
    Commit(String),
}

impl Target {
    fn sha(&self) -> &str {
        match self {
            Target::Head(s) | Target::Branch(_, s) | Target::Tag(_, s) | Target::Commit(s) => s,
        }
    }
}

fn is_sha(v: &str) -> bool {
    (7..=40).contains(&v.len()) && v.chars().all(|c| c.is_ascii_hexdigit())
}

/// The version's commit from `git ls-remote` output.
fn resolve(version: &str, out: &str) -> Option<Target> {
    let find = |r: &str| {
        out.lines().find_map(|l| {
            let (sha, name) = l.split_once('\t')?;
            (name == r).then(|| sha.to_string())
        })
    };
    if version == "HEAD" {
        return find("HEAD").map(Target::Head);
    }
    if let Some(s) = find(&format!("refs/heads/{version}")) {
        return Some(Target::Branch(version.into(), s));
    }
    if let Some(s) =
        find(&format!("refs/tags/{version}^{{}}")).or_else(|| find(&format!("refs/tags/{version}")))
    {
        return Some(Target::Tag(version.into(), s));
    }
    is_sha(version).then(|| Target::Commit(version.to_ascii_lowercase()))
}

struct Checkout {
    clone: bool,
    target: Target,
}

#[async_trait]
impl Module for Git {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn plan(&self, ctx: &PlanContext<'_>, args: &Args) -> ModResult<Plan> {
        let g = Ctx::of(args);
        let repo = args.string("repo").unwrap_or_default();
        let dest = args.string("dest").unwrap_or_default();
        let version = args.string("version").unwrap_or_else(|| "HEAD".into());
        let d = sh_quote(&dest);
        if ctx
            .host
            .exec(&format!("command -v {} >/dev/null 2>&1", g.git))
            .await?
            .rc
            != 0
        {
            return Err(ModuleError::Failed(
                "git is not installed on the host: install it first (apt: name=git)".into(),
            ));
        }
        let before = ctx
            .host
            .exec(&format!(
                "[ -e {d}/.git ] && {}",
                g.run(&format!("-C {d} rev-parse HEAD"))
            ))
            .await?;
        let before = (before.rc == 0).then(|| before.stdout_str().trim().to_string());
        let mut result = ModuleResult::ok()
            .with("before", before.clone())
            .with("after", before.clone());
        if before.is_some() && !args.bool("update") {
            return Ok(Plan::Done(result));
        }
        if before.is_none() && !args.bool("clone") {
            return Ok(Plan::Done(result));
        }
        let refs = if version == "HEAD" {
            "HEAD".to_string()
        } else {
            [
                format!("refs/heads/{version}"),
                format!("refs/tags/{version}"),
                format!("refs/tags/{version}^{{}}"),
            ]
            .iter()
            .map(|r| sh_quote(r))
            .collect::<Vec<_>>()
            .join(" ")
        };
        let ls = ctx
            .host
            .exec(&g.run(&format!("ls-remote {} {refs}", sh_quote(&repo))))
            .await?;
        if ls.rc != 0 {
            return Err(ModuleError::Failed(format!(
                "git ls-remote {repo} failed: {}",
                ls.stderr_str().trim()
            )));
        }
        let target = resolve(&version, &ls.stdout_str()).ok_or_else(|| {
            ModuleError::Failed(format!("Cannot find version {version} in {repo}"))
        })?;
        if let Some(b) = &before {
            if b.starts_with(target.sha()) {
                return Ok(Plan::Done(result));
            }
            if !args.bool("force") {
                let st = ctx
                    .host
                    .exec(&g.run(&format!("-C {d} status --porcelain --untracked-files=no")))
                    .await?;
                if !st.stdout_str().trim().is_empty() {
                    return Err(ModuleError::Failed(format!(
                        "Local modifications exist in the destination: {dest} (force=no)."
                    )));
                }
            }
        }
        result.changed = true;
        result.data.insert("after".into(), target.sha().into());
        if ctx.diff {
            result.diffs.push(FileDiff::new(
                &dest,
                before
                    .as_deref()
                    .map(|b| format!("{b}\n"))
                    .unwrap_or_default(),
                format!("{}\n", target.sha()),
            ));
        }
        Ok(Plan::change(
            result,
            Work::custom(Checkout {
                clone: before.is_none(),
                target,
            }),
        ))
    }
}

#[async_trait]
impl Apply for Checkout {
    async fn apply(
        self: Box<Self>,
        ctx: &ApplyContext<'_>,
        args: &Args,
        mut preview: ModuleResult,
    ) -> ModResult<ModuleResult> {
        let g = Ctx::of(args);
        let repo = args.string("repo").unwrap_or_default();
        let dest = args.string("dest").unwrap_or_default();
        let remote = sh_quote(args.str("remote").unwrap_or("origin"));
        let d = sh_quote(&dest);
        let depth = args
            .int("depth")
            .map(|n| format!(" --depth {n}"))
            .unwrap_or_default();
        let sha = self.target.sha().to_string();
        let mut steps = vec![];
        if self.clone {
            let mut c = format!("clone{depth} --origin {remote}");
            match &self.target {
                Target::Branch(v, _) | Target::Tag(v, _) => {
                    c.push_str(&format!(" --branch {}", sh_quote(v)));
                    if args.bool("single_branch") {
                        c.push_str(" --single-branch");
                    }
                }
                _ => {}
            }
            steps.push(g.run(&format!("{c} {} {d}", sh_quote(&repo))));
            if let Target::Commit(_) = &self.target {
                steps.push(g.run(&format!("-C {d} checkout --force {}", sh_quote(&sha))));
            }
        } else {
            steps.push(g.run(&format!("-C {d} fetch{depth} --tags {remote}")));
            steps.push(match &self.target {
                Target::Branch(v, _) => g.run(&format!(
                    "-C {d} checkout --force -B {} {}",
                    sh_quote(v),
                    sh_quote(&sha)
                )),
                Target::Head(_) => g.run(&format!("-C {d} reset --hard {}", sh_quote(&sha))),
                _ => g.run(&format!("-C {d} checkout --force {}", sh_quote(&sha))),
            });
        }
        for s in steps {
            let out = ctx.host.exec(&s).await?;
            if out.rc != 0 {
                return Err(ModuleError::Failed(format!(
                    "git failed: {}",
                    out.stderr_str().trim()
                )));
            }
        }
        let after = ctx
            .host
            .exec_ok(&g.run(&format!("-C {d} rev-parse HEAD")))
            .await?
            .stdout_str()
            .trim()
            .to_string();
        preview.data.insert("after".into(), after.into());
        Ok(preview)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_resolve_to_commits() {
        let out = "aaa1\tHEAD\nbbb2\trefs/heads/main\nccc3\trefs/tags/v1\nddd4\trefs/tags/v1^{}\n";
        assert_eq!(resolve("HEAD", out), Some(Target::Head("aaa1".into())));
        assert_eq!(
            resolve("main", out),
            Some(Target::Branch("main".into(), "bbb2".into()))
        );
        assert_eq!(
            resolve("v1", out),
            Some(Target::Tag("v1".into(), "ddd4".into()))
        );
        assert_eq!(
            resolve("abcdef1", ""),
            Some(Target::Commit("abcdef1".into()))
        );
        assert_eq!(resolve("nope", out), None);
    }
}
