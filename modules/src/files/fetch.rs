use std::path::PathBuf;

use async_trait::async_trait;

use super::content::ControllerFile;
use crate::hostfs::FileKind;
use crate::spec::{arg, ArgType::*, ModuleSpec};
use crate::{
    Apply, ApplyContext, Args, ModResult, Module, ModuleError, ModuleResult, Plan, PlanContext,
    Work,
};

pub struct Fetch;

static SPEC: ModuleSpec = ModuleSpec::new(
    "fetch",
    "Copy a file from the host to the controller (dest/<host>/<src path>, or dest with flat).",
    &[
        arg("src", Path, "File on the host.").required(),
        arg(
            "dest",
            Path,
            "Directory (or file with flat) on the controller.",
        )
        .required(),
        arg(
            "flat",
            Bool,
            "Store at dest itself instead of dest/<host>/<src>.",
        )
        .default("false"),
        arg("fail_on_missing", Bool, "Fail when src does not exist.").default("true"),
        arg(
            "validate_checksum",
            Bool,
            "Check that the copy's checksum is the host file's (a file that changes while it is read fails).",
        )
        .default("true")
        .aliases(&["validate_md5"]),
    ],
);

/// Whether a relative path climbs above where it starts (`a/../../b`).
fn escapes(rel: &str) -> bool {
    let mut depth = 0usize;
    for part in rel.split('/') {
        match part {
            "" | "." => {}
            ".." if depth == 0 => return true,
            ".." => depth -= 1,
            _ => depth += 1,
        }
    }
    false
}

#[async_trait]
impl Module for Fetch {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn plan(&self, ctx: &PlanContext<'_>, args: &Args) -> ModResult<Plan> {
        let src = args.string("src").unwrap_or_default();
        let dest = args.string("dest").unwrap_or_default();
        // The host's checksum decides; the bytes are streamed at apply, never held in memory.
        let Some(st) = ctx.host.stat(&src, true).await? else {
            if args.bool("fail_on_missing") {
                return Err(ModuleError::Failed(format!(
                    "the remote file does not exist: {src}"
                )));
            }
            return Ok(Plan::Done(
                ModuleResult::ok().with_msg("the remote file does not exist, not transferring"),
            ));
        };
        let target: PathBuf = if args.bool("flat") {
            if dest.ends_with('/') {
                PathBuf::from(&dest).join(src.rsplit('/').next().unwrap_or(&src))
            } else {
                PathBuf::from(&dest)
            }
        } else {
            // dest/<host>/<src>: the host's name and the source path must stay below dest.
            let host = ctx.controller.inventory_hostname();
            let below = format!("{host}/{}", src.trim_start_matches('/'));
            if host.is_empty()
                || host.contains('/')
                || host == "."
                || host == ".."
                || escapes(&below)
            {
                return Err(ModuleError::Failed(format!(
                    "fetch: the host name {host:?} and src {src:?} would write outside dest \
                     {dest:?}; rename the host or use flat: true with an explicit dest"
                )));
            }
            PathBuf::from(&dest).join(below)
        };
        if st.kind == FileKind::Directory {
            return Err(ModuleError::Failed(format!(
                "remote file is a directory, fetch cannot work on directories: {src}"
            )));
        }
        let Some(checksum) = st.checksum else {
            return Err(ModuleError::Failed(format!(
                "cannot read the remote file {src} (permission denied? try become)"
            )));
        };
        let result = ModuleResult::ok()
            .with("dest", target.display().to_string())
            .with("checksum", checksum.clone())
            .with("remote_checksum", checksum.clone());
        let current = ControllerFile::open(&target).ok().map(|f| f.sha1);
        if current.as_deref() == Some(checksum.as_str()) {
            return Ok(Plan::Done(result));
        }
        let mut preview = result;
        preview.changed = true;
        Ok(Plan::change(
            preview,
            Work::custom(Fetched {
                src,
                target,
                checksum,
            }),
        ))
    }
}

/// The host's file, its checksum at plan time, and where it goes on the controller.
struct Fetched {
    src: String,
    target: PathBuf,
    checksum: String,
}

#[async_trait]
impl Apply for Fetched {
    async fn apply(
        self: Box<Self>,
        ctx: &ApplyContext<'_>,
        args: &Args,
        preview: ModuleResult,
    ) -> ModResult<ModuleResult> {
        let Fetched {
            src,
            target,
            checksum,
        } = *self;
        let failed = |e: &dyn std::fmt::Display| {
            ModuleError::Failed(format!("cannot write {}: {e}", target.display()))
        };
        let dir = target.parent().unwrap_or(std::path::Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| failed(&e))?;
        // Streamed into a temporary file beside the target, removed if anything goes wrong
        // (or the run is interrupted); renamed only once its checksum is the host's.
        let temp = tempfile::Builder::new()
            .prefix(".timonel-fetch")
            .tempfile_in(dir)
            .map_err(|e| failed(&e))?
            .into_temp_path();
        if !ctx.host.read_into(&src, &temp).await? {
            return Err(ModuleError::Failed(format!(
                "the remote file disappeared during the transfer: {src}"
            )));
        }
        let got = ControllerFile::open(&temp).map_err(|e| failed(&e))?.sha1;
        if args.bool("validate_checksum") && got != checksum {
            return Err(ModuleError::Failed(format!(
                "the transfer of {src} was cut short or the file changed during it \
                 (checksum {got}, expected {checksum}); {} is unchanged",
                target.display()
            )));
        }
        temp.persist(&target).map_err(|e| failed(&e.error))?;
        Ok(preview)
    }
}

#[cfg(test)]
mod tests {
    use super::escapes;

    #[test]
    fn paths_that_climb_out() {
        assert!(escapes("h/../../x"));
        assert!(escapes("../x"));
        assert!(!escapes("h/etc/../etc/hosts"));
        assert!(!escapes("h/./a//b"));
    }
}
