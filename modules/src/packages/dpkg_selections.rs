use async_trait::async_trait;

use crate::connection::sh_quote;
use crate::spec::{arg, ArgType::*, ModuleSpec};
use crate::{Args, FileDiff, ModResult, Module, ModuleResult, Plan, PlanContext};

pub struct DpkgSelections;

static SPEC: ModuleSpec = ModuleSpec::new(
    "dpkg_selections",
    "Set a package's dpkg selection, e.g. hold a version (kubelet, kubeadm, kubectl).",
    &[
        arg("name", Str, "Package name.").required(),
        arg("selection", Str, "The selection state.")
            .required()
            .choices(&["install", "hold", "deinstall", "purge"]),
    ],
);

#[async_trait]
impl Module for DpkgSelections {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn plan(&self, ctx: &PlanContext<'_>, args: &Args) -> ModResult<Plan> {
        let name = args.string("name").unwrap_or_default();
        let want = args.string("selection").unwrap_or_default();
        let out = ctx
            .host
            .exec_ok(&format!(
                "dpkg --get-selections {} 2>/dev/null; true",
                sh_quote(&name)
            ))
            .await?;
        let current = out
            .stdout_str()
            .lines()
            .find_map(|l| {
                let mut w = l.split_whitespace();
                (w.next() == Some(name.as_str())).then(|| w.next().unwrap_or("").to_string())
            })
            .unwrap_or_else(|| "not present".into());
        let result = ModuleResult::ok()
            .with("before", current.clone())
            .with("after", want.clone());
        if current == want {
            return Ok(Plan::Done(result));
        }
        let mut preview = result;
        preview.changed = true;
        if ctx.diff {
            preview.diffs.push(FileDiff::new(
                &format!("dpkg selection of {name}"),
                format!("{current}\n"),
                format!("{want}\n"),
            ));
        }
        Ok(Plan::command(
            preview,
            format!(
                "printf '%s %s\\n' {} {} | dpkg --set-selections",
                sh_quote(&name),
                sh_quote(&want)
            ),
        ))
    }
}
