use std::path::PathBuf;

use async_trait::async_trait;

use super::content::sha1_hex;
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
        let Some(data) = ctx.host.read(&src).await? else {
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
        let checksum = sha1_hex(&data);
        let result = ModuleResult::ok()
            .with("dest", target.display().to_string())
            .with("checksum", checksum.clone())
            .with("remote_checksum", checksum.clone());
        let current = std::fs::read(&target).ok().map(|d| sha1_hex(&d));
        if current.as_deref() == Some(checksum.as_str()) {
            return Ok(Plan::Done(result));
        }
        let mut preview = result;
        preview.changed = true;
        Ok(Plan::change(
            preview,
            Work::custom(Fetched { target, data }),
        ))
    }
}

/// The file read from the host and where it goes on the controller.
struct Fetched {
    target: PathBuf,
    data: Vec<u8>,
}

#[async_trait]
impl Apply for Fetched {
    async fn apply(
        self: Box<Self>,
        _: &ApplyContext<'_>,
        _: &Args,
        preview: ModuleResult,
    ) -> ModResult<ModuleResult> {
        let Fetched { target, data } = *self;
        let write = || -> std::io::Result<()> {
            let dir = target.parent().unwrap_or(std::path::Path::new("."));
            std::fs::create_dir_all(dir)?;
            let name = target
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let tmp = dir.join(format!(".{name}.timonel-tmp"));
            std::fs::write(&tmp, &data)?;
            std::fs::rename(&tmp, &target)
        };
        write()
            .map_err(|e| ModuleError::Failed(format!("cannot write {}: {e}", target.display())))?;
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
