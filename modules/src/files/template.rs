use async_trait::async_trait;

use super::content::plan_content;
use crate::spec::{arg, ArgType::*, ModuleSpec, ATTR_ARGS};
use crate::{Args, FileSource, ModResult, Module, ModuleError, ModuleResult, Plan, PlanContext};

pub struct Template;

static SPEC: ModuleSpec = ModuleSpec::new(
    "template",
    "Render a Jinja template from the controller to a path on the host.",
    &[
        arg(
            "src",
            Path,
            "Template file (searched in the role's templates/ and next to the playbook).",
        )
        .required(),
        arg("dest", Path, "Remote path of the rendered file.").required(),
        arg("force", Bool, "Replace the file when its content differs.").default("true"),
        arg(
            "backup",
            Bool,
            "Keep a timestamped copy of the file it replaces.",
        )
        .default("false"),
        arg("newline_sequence", Str, "Line ending of the rendered file.")
            .default("\"\\n\"")
            .choices(&["\n", "\r\n", "\r"]),
        ATTR_ARGS[0],
        ATTR_ARGS[1],
        ATTR_ARGS[2],
    ],
);

#[async_trait]
impl Module for Template {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn plan(&self, ctx: &PlanContext<'_>, args: &Args) -> ModResult<Plan> {
        let src = args.string("src").unwrap_or_default();
        let dest = args.string("dest").unwrap_or_default();
        let path = ctx
            .controller
            .find_file(FileSource::Templates, &src)
            .map_err(ModuleError::Failed)?;
        let source = ctx
            .controller
            .read_text(&path)
            .map_err(|e| ModuleError::Failed(format!("could not read template: {e}")))?;
        let mut text = ctx
            .controller
            .render(&source, &path.display().to_string())
            .map_err(ModuleError::Failed)?;
        let nl = args.str("newline_sequence").unwrap_or("\n");
        if nl != "\n" {
            text = text.replace('\n', nl);
        }
        if !args.bool("force") && ctx.host.stat(&dest, false).await?.is_some() {
            return Ok(Plan::Done(ModuleResult::ok().with("dest", dest)));
        }
        plan_content(
            ctx,
            &dest,
            text.into_bytes(),
            args.attrs(),
            args.bool("backup"),
            None,
        )
        .await
    }
}
