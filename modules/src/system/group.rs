use async_trait::async_trait;

use crate::connection::sh_quote;
use crate::spec::{arg, ArgType::*, ModuleSpec};
use crate::{Args, FileDiff, ModResult, Module, ModuleResult, Plan, PlanContext};

pub struct Group;

static SPEC: ModuleSpec = ModuleSpec::new(
    "group",
    "Create, change or remove a local group.",
    &[
        arg("name", Str, "Group name.").required(),
        arg("state", Str, "Whether the group should exist.")
            .default("\"present\"")
            .choices(&["present", "absent"]),
        arg("gid", Int, "Group ID."),
        arg("system", Bool, "Create a system group.").default("false"),
    ],
);

#[async_trait]
impl Module for Group {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn plan(&self, ctx: &PlanContext<'_>, args: &Args) -> ModResult<Plan> {
        let name = args.string("name").unwrap_or_default();
        let q = sh_quote(&name);
        let out = ctx.host.exec(&format!("getent group {q}")).await?;
        let current_gid: Option<i64> = (out.rc == 0)
            .then(|| {
                out.stdout_str()
                    .split(':')
                    .nth(2)
                    .and_then(|g| g.trim().parse().ok())
            })
            .flatten();
        let exists = out.rc == 0;
        let result = ModuleResult::ok()
            .with("name", name.clone())
            .with("state", args.string("state").unwrap_or_default());
        let cmd = if args.str("state") == Some("absent") {
            exists.then(|| format!("groupdel {q}"))
        } else if !exists {
            let mut c = String::from("groupadd");
            if let Some(g) = args.int("gid") {
                c.push_str(&format!(" -g {g}"));
            }
            if args.bool("system") {
                c.push_str(" -r");
            }
            Some(format!("{c} {q}"))
        } else {
            args.int("gid")
                .filter(|g| Some(*g) != current_gid)
                .map(|g| format!("groupmod -g {g} {q}"))
        };
        let Some(cmd) = cmd else {
            return Ok(Plan::Done(result.with("gid", current_gid)));
        };
        let mut preview = result;
        preview.changed = true;
        if ctx.diff {
            let before = if exists {
                format!("group {name} gid={}\n", current_gid.unwrap_or(-1))
            } else {
                String::new()
            };
            let after = if args.str("state") == Some("absent") {
                String::new()
            } else {
                format!(
                    "group {name} gid={}\n",
                    args.int("gid")
                        .or(current_gid)
                        .map(|g| g.to_string())
                        .unwrap_or_else(|| "(new)".into())
                )
            };
            preview
                .diffs
                .push(FileDiff::new(&format!("group {name}"), before, after));
        }
        Ok(Plan::command(preview, cmd))
    }
}
