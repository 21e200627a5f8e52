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
        arg("checksum_algorithm", Str, "Only sha1 is supported.")
            .default("\"sha1\"")
            .choices(&["sha1"]),
    ],
);

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
                if args.bool("get_checksum") {
                    if let Some(c) = s.checksum {
                        v["checksum"] = Value::String(c);
                    }
                }
                v
            }
        };
        Ok(Plan::Done(ModuleResult::ok().with("stat", stat)))
    }
}
