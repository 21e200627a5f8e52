//! unarchive: extract a tar archive (gz, xz, bz2 or plain) into a directory on the host. The
//! archive comes from the controller (uploaded) or is already on the host (remote_src).
//! `tar --diff` decides whether anything would change, so a second run reports ok.

use async_trait::async_trait;

use super::content::{Body, ControllerFile};
use crate::connection::sh_quote;
use crate::spec::{arg, ArgType::*, ModuleSpec, ATTR_ARGS, SELINUX_ARGS};
use crate::{
    Apply, ApplyContext, Args, FileSource, ModResult, Module, ModuleError, ModuleResult, Plan,
    PlanContext, Work,
};

pub struct Unarchive;

static SPEC: ModuleSpec = ModuleSpec::new(
    "unarchive",
    "Extract a tar archive (tar.gz, tar.xz, tar.bz2, tar) into a directory on the host.",
    &[
        arg(
            "src",
            Path,
            "The archive: on the controller, or on the host with remote_src.",
        )
        .required(),
        arg("dest", Path, "Existing directory to extract into.").required(),
        arg("remote_src", Bool, "src is already on the host.").default("false"),
        arg(
            "copy",
            Bool,
            "Ansible's older, inverted form of remote_src: copy: no means src is on the host.",
        ),
        arg("creates", Path, "Do nothing if this path exists."),
        arg("extra_opts", List, "More tar options."),
        ATTR_ARGS[0],
        ATTR_ARGS[1],
        ATTR_ARGS[2],
        SELINUX_ARGS[0],
        SELINUX_ARGS[1],
        SELINUX_ARGS[2],
        SELINUX_ARGS[3],
    ],
);

/// A shell loop over the archive's members (paths relative to dest), running `each` with
/// the member in "$f".
fn per_member(archive: &str, dest: &str, each: &str) -> String {
    // Listed from where the archive's path means something, then read from inside dest.
    format!(
        "{} | ( cd {} && while IFS= read -r f; do {each}; done )",
        tar(archive, ".", "t", &[]),
        sh_quote(dest)
    )
}

/// Whether a member's `type|owner|group|uid|gid|mode` line differs from the attributes asked.
fn member_differs(line: &str, attrs: &crate::hostfs::Attrs) -> bool {
    let f: Vec<&str> = line.split('|').collect();
    if f.len() < 6 {
        return false;
    }
    if f[0] == "symbolic link" {
        return attrs.owner.as_ref().is_some_and(|o| o != f[1] && o != f[3])
            || attrs.group.as_ref().is_some_and(|g| g != f[2] && g != f[4]);
    }
    let now = u32::from_str_radix(f[5], 8).unwrap_or(0);
    attrs.owner.as_ref().is_some_and(|o| o != f[1] && o != f[3])
        || attrs.group.as_ref().is_some_and(|g| g != f[2] && g != f[4])
        || attrs.mode.as_ref().is_some_and(|m| {
            crate::mode::resolve(m, now, f[0] == "directory").is_some_and(|want| want != now)
        })
}

/// Applies owner, group and mode to every member (links: owner and group only).
fn attrs_script(archive: &str, dest: &str, attrs: &crate::hostfs::Attrs) -> String {
    let mut each = String::new();
    if let Some(o) = &attrs.owner {
        each.push_str(&format!("chown -h {} -- \"$f\" || exit 1; ", sh_quote(o)));
    }
    if let Some(g) = &attrs.group {
        each.push_str(&format!("chgrp -h {} -- \"$f\" || exit 1; ", sh_quote(g)));
    }
    if let Some(m) = &attrs.mode {
        each.push_str(&format!(
            "[ -L \"$f\" ] || chmod {} -- \"$f\" || exit 1; ",
            sh_quote(m)
        ));
    }
    per_member(archive, dest, each.trim_end_matches("; "))
}

/// The archive on the host (uploaded by the plan to compare it, unless `remote_src`).
struct Archive {
    archive: String,
    uploaded: bool,
    /// False when only the members' attributes need fixing.
    extract: bool,
}

impl Archive {
    async fn remove_upload(&self, host: &crate::HostView<'_>) -> ModResult<()> {
        if self.uploaded {
            host.exec(&format!("rm -f {}", sh_quote(&self.archive)))
                .await?;
        }
        Ok(())
    }
}

fn tar(archive: &str, dest: &str, mode: &str, extra: &[String]) -> String {
    let extra: String = extra.iter().map(|o| format!(" {}", sh_quote(o))).collect();
    // -a would need GNU tar's suffix logic; -z/-J/-j picked from the name keeps it portable.
    let z = if archive.ends_with(".gz") || archive.ends_with(".tgz") {
        "z"
    } else if archive.ends_with(".xz") || archive.ends_with(".txz") {
        "J"
    } else if archive.ends_with(".bz2") || archive.ends_with(".tbz2") {
        "j"
    } else {
        ""
    };
    format!(
        "tar -C {} -{mode}{z}f {}{extra}",
        sh_quote(dest),
        sh_quote(archive)
    )
}

#[async_trait]
impl Module for Unarchive {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn plan(&self, ctx: &PlanContext<'_>, args: &Args) -> ModResult<Plan> {
        let src = args.string("src").unwrap_or_default();
        let dest = args.string("dest").unwrap_or_default();
        if let Some(c) = args.str("creates") {
            if ctx.host.exec(&format!("[ -e {} ]", sh_quote(c))).await?.rc == 0 {
                return Ok(Plan::Done(
                    ModuleResult::ok().with_msg(format!("skipped, since {c} exists")),
                ));
            }
        }
        if ctx
            .host
            .exec(&format!("[ -d {} ]", sh_quote(&dest)))
            .await?
            .rc
            != 0
        {
            return Err(ModuleError::Failed(format!(
                "destination {dest} is not a directory"
            )));
        }
        let extra: Vec<String> = args.strings("extra_opts");
        let on_host =
            args.bool("remote_src") || args.get("copy").and_then(|v| v.as_bool()) == Some(false);
        let (archive, uploaded) = if on_host {
            (src.clone(), false)
        } else {
            let path = ctx
                .controller
                .find_file(FileSource::Files, &src)
                .map_err(ModuleError::Failed)?;
            // Streamed in chunks: an archive of any size leaves controller memory alone.
            let data = ControllerFile::open(&path)
                .map_err(|e| ModuleError::Failed(format!("cannot read {}: {e}", path.display())))?;
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "archive".into());
            let remote = format!("/tmp/.timonel-{}-{name}", std::process::id());
            let source = Body::File(data);
            ctx.host
                .upload_scratch_from(&remote, source.source())
                .await?;
            (remote, true)
        };
        // tar --diff lists what differs. Ownership and modes differ whenever a non-root user
        // extracts a root-made archive, and do not mean the files need extracting again.
        let out = ctx.host.exec(&tar(&archive, &dest, "d", &extra)).await?;
        let report = format!("{}{}", out.stdout_str(), out.stderr_str());
        let differs = report.lines().any(|l| {
            [
                "Contents differ",
                "Size differs",
                "File type differs",
                "Symlink differs",
                "No such file",
                "Cannot stat",
                "Not a directory",
            ]
            .iter()
            .any(|s| l.contains(s))
        });
        let result = ModuleResult::ok()
            .with("dest", dest.clone())
            .with("src", src.clone());
        let attrs = args.attrs();
        // Extracted as they are, the members may still need other owners or modes.
        let attrs_differ = !differs && out.rc <= 1 && !attrs.is_empty() && {
            let st = ctx
                .host
                .exec(&per_member(
                    &archive,
                    &dest,
                    "stat -c '%F|%U|%G|%u|%g|%a' -- \"$f\"",
                ))
                .await?;
            st.stdout_str().lines().any(|l| member_differs(l, &attrs))
        };
        if !differs && out.rc <= 1 && !attrs_differ {
            if uploaded {
                ctx.host
                    .exec(&format!("rm -f {}", sh_quote(&archive)))
                    .await?;
            }
            return Ok(Plan::Done(result));
        }
        if out.rc > 1 && !differs && !attrs_differ {
            return Err(ModuleError::Failed(format!(
                "cannot read the archive {src}: {}",
                out.stderr_str().trim()
            )));
        }
        let mut preview = result;
        preview.changed = true;
        Ok(Plan::change(
            preview,
            Work::custom(Archive {
                archive,
                uploaded,
                extract: differs || out.rc > 1,
            }),
        ))
    }
}

#[async_trait]
impl Apply for Archive {
    async fn apply(
        self: Box<Self>,
        ctx: &ApplyContext<'_>,
        args: &Args,
        preview: ModuleResult,
    ) -> ModResult<ModuleResult> {
        let w = *self;
        let dest = args.string("dest").unwrap_or_default();
        let extra: Vec<String> = args.strings("extra_opts");
        if w.extract {
            let out = ctx.host.exec(&tar(&w.archive, &dest, "x", &extra)).await?;
            if out.rc != 0 {
                w.remove_upload(&ctx.host).await?;
                return Err(ModuleError::Failed(format!(
                    "extracting into {dest} failed: {}",
                    out.stderr_str().trim()
                )));
            }
        }
        let attrs = args.attrs();
        if !attrs.is_empty() {
            let out = ctx
                .host
                .exec(&attrs_script(&w.archive, &dest, &attrs))
                .await?;
            if out.rc != 0 {
                w.remove_upload(&ctx.host).await?;
                return Err(ModuleError::Failed(format!(
                    "setting owner/group/mode on what was extracted into {dest} failed: {}",
                    out.stderr_str().trim()
                )));
            }
        }
        w.remove_upload(&ctx.host).await?;
        Ok(preview)
    }

    async fn discard(self: Box<Self>, ctx: &ApplyContext<'_>) -> ModResult<()> {
        self.remove_upload(&ctx.host).await
    }
}
