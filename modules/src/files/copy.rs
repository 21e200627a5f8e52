use async_trait::async_trait;

use super::content::{plan_content, with_validate, Body, ControllerFile, MakeDirFirst, NewFile};
use crate::hostfs::FileKind;
use crate::spec::{arg, ArgType::*, ModuleSpec, ATTR_ARGS, SELINUX_ARGS};
use crate::{
    Args, Controller, FileSource, ModResult, Module, ModuleError, ModuleResult, Plan, PlanContext,
    Work,
};

pub struct Copy;

static SPEC: ModuleSpec = ModuleSpec::new(
    "copy",
    "Copy a file from the controller, or given content, to a path on the host.",
    &[
        arg(
            "dest",
            Path,
            "Remote path; a directory (or a path ending in /) receives src's file name.",
        )
        .required(),
        arg(
            "src",
            Path,
            "File on the controller (searched in the role's files/ and next to the playbook).",
        ),
        arg("content", Raw, "Text to write instead of src."),
        arg(
            "force",
            Bool,
            "Replace the file when its content differs. With false, only create it.",
        )
        .default("true"),
        arg(
            "backup",
            Bool,
            "Keep a timestamped copy of the file it replaces.",
        )
        .default("false"),
        arg(
            "remote_src",
            Bool,
            "src is a path on the host, not the controller.",
        )
        .default("false"),
        ATTR_ARGS[0],
        ATTR_ARGS[1],
        ATTR_ARGS[2],
        arg(
            "validate",
            Str,
            "A command run on the new content before it replaces the file (%s is the file); the file is left as it was if it fails.",
        ),
        SELINUX_ARGS[0],
        SELINUX_ARGS[1],
        SELINUX_ARGS[2],
        SELINUX_ARGS[3],
    ],
)
.one_of(&[&["src", "content"]])
.exclusive(&[&["src", "content"]]);

#[async_trait]
impl Module for Copy {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn plan(&self, ctx: &PlanContext<'_>, args: &Args) -> ModResult<Plan> {
        let mut dest = args.string("dest").unwrap_or_default();
        // A file is read in chunks (its checksum computed on the way) and streamed to the
        // host at apply: controller memory stays bounded whatever the file's size.
        // The source's permission bits, for `mode: preserve`.
        let mut src_mode: Option<u32> = None;
        let (data, src_name): (Body, _) = if let Some(c) = args.get("content") {
            (content_bytes(c).into(), None)
        } else {
            let src = args.string("src").unwrap_or_default();
            let name = src.rsplit('/').next().unwrap_or(&src).to_string();
            if args.bool("remote_src") {
                let temp = tempfile::NamedTempFile::new()
                    .map_err(|e| ModuleError::Failed(format!("cannot make a temporary file: {e}")))?
                    .into_temp_path();
                if args.str("mode") == Some("preserve") {
                    src_mode = ctx.host.stat(&src, true).await?.map(|s| s.mode);
                }
                if !ctx.host.read_into(&src, &temp).await? {
                    return Err(ModuleError::Failed(format!(
                        "Source {src} not found on the host"
                    )));
                }
                let f = ControllerFile::open(&temp).map_err(|e| {
                    ModuleError::Failed(format!("could not read {}: {e}", temp.display()))
                })?;
                let (size, sha1) = (f.size, f.sha1);
                (
                    ControllerFile::temporary(temp, size, sha1).into(),
                    Some(name),
                )
            } else {
                let path = ctx
                    .controller
                    .find_file(FileSource::Files, &src)
                    .map_err(ModuleError::Failed)?;
                {
                    use std::os::unix::fs::PermissionsExt;
                    src_mode = std::fs::metadata(&path)
                        .ok()
                        .map(|m| m.permissions().mode());
                }
                let d = ControllerFile::open(&path).map_err(|e| {
                    ModuleError::Failed(format!("could not read {}: {e}", path.display()))
                })?;
                (d.into(), Some(name))
            }
        };
        // A dest ending in / that doesn't exist yet is made, as Ansible's copy does.
        let mut make_dir = None;
        if let Some(name) = &src_name {
            let existing = ctx.host.stat(&dest, true).await?;
            let is_dir = existing
                .as_ref()
                .is_some_and(|s| s.kind == FileKind::Directory);
            if dest.ends_with('/') && existing.is_none() {
                make_dir = Some(dest.trim_end_matches('/').to_string());
            }
            if is_dir || dest.ends_with('/') {
                dest = format!("{}/{}", dest.trim_end_matches('/'), name);
            }
        }
        if !args.bool("force") && ctx.host.stat(&dest, false).await?.is_some() {
            return Ok(Plan::Done(ModuleResult::ok().with("dest", dest)));
        }
        let mut attrs = args.attrs();
        if args.str("mode") == Some("preserve") {
            attrs.mode = src_mode.map(|m| format!("{:04o}", m & 0o7777));
        }
        if let Some(dir) = make_dir {
            // Nothing is there yet: the file is new, in a directory made first.
            let plan = with_validate(
                plan_content(
                    ctx,
                    &dest,
                    data,
                    attrs,
                    args.bool("backup"),
                    Some((None, None)),
                )
                .await?,
                args.str("validate"),
            )?;
            return Ok(match plan {
                Plan::Change { preview, work } => {
                    Plan::change(preview, Work::custom(MakeDirFirst { dir, work }))
                }
                other => other,
            });
        }
        let plan = plan_content(ctx, &dest, data, attrs, args.bool("backup"), None).await?;
        with_validate(plan, args.str("validate"))
    }

    /// `content`, or a controller file: what a new host would get. A file from the host
    /// itself (remote_src), or a directory's tree, only the host can tell.
    fn new_host_file(
        &self,
        args: &Args,
        controller: &dyn Controller,
    ) -> Option<Result<NewFile, String>> {
        let dest = args.string("dest")?;
        if let Some(c) = args.get("content") {
            return Some(Ok(NewFile {
                path: dest,
                content: content_bytes(c).into(),
            }));
        }
        if args.bool("remote_src") {
            return None;
        }
        let src = args.string("src")?;
        let path = match controller.find_file(FileSource::Files, &src) {
            Ok(p) if p.is_dir() => return None,
            Ok(p) => p,
            Err(e) => return Some(Err(e)),
        };
        let name = src.rsplit('/').next().unwrap_or(&src);
        let path_on_host = if dest.ends_with('/') {
            format!("{dest}{name}")
        } else {
            dest
        };
        Some(
            ControllerFile::open(&path)
                .map(|f| NewFile {
                    path: path_on_host,
                    content: f.into(),
                })
                .map_err(|e| format!("could not read {}: {e}", path.display())),
        )
    }
}

/// `content` as the file's bytes: a string as it is, any other value as JSON (as Ansible).
fn content_bytes(c: &serde_json::Value) -> Vec<u8> {
    match c {
        serde_json::Value::String(s) => s.clone().into_bytes(),
        other => serde_json::to_string(other)
            .unwrap_or_default()
            .into_bytes(),
    }
}
