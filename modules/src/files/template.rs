use std::path::PathBuf;

use async_trait::async_trait;

use super::content::{plan_content, with_validate, NewFile};
use crate::spec::{arg, ArgType::*, ModuleSpec, ATTR_ARGS, SELINUX_ARGS};
use crate::{
    Args, Controller, FileSource, ModResult, Module, ModuleError, ModuleResult, Plan, PlanContext,
};

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
);

#[async_trait]
impl Module for Template {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn plan(&self, ctx: &PlanContext<'_>, args: &Args) -> ModResult<Plan> {
        let dest = args.string("dest").unwrap_or_default();
        let (path, text) = rendered(args, ctx.controller).map_err(ModuleError::Failed)?;
        if !args.bool("force") && ctx.host.stat(&dest, false).await?.is_some() {
            return Ok(Plan::Done(ModuleResult::ok().with("dest", dest)));
        }
        let mut attrs = args.attrs();
        if args.str("mode") == Some("preserve") {
            use std::os::unix::fs::PermissionsExt;
            attrs.mode = std::fs::metadata(&path)
                .ok()
                .map(|m| format!("{:04o}", m.permissions().mode() & 0o7777));
        }
        let plan = plan_content(
            ctx,
            &dest,
            text.into_bytes(),
            attrs,
            args.bool("backup"),
            None,
        )
        .await?;
        with_validate(plan, args.str("validate"))
    }

    /// The rendered template: rendering needs only the controller.
    fn new_host_file(
        &self,
        args: &Args,
        controller: &dyn Controller,
    ) -> Option<Result<NewFile, String>> {
        let dest = args.string("dest")?;
        Some(rendered(args, controller).map(|(_, text)| NewFile {
            path: dest,
            content: text.into_bytes().into(),
        }))
    }
}

/// The template found, read and rendered with the task's variables and newline_sequence.
fn rendered(args: &Args, controller: &dyn Controller) -> Result<(PathBuf, String), String> {
    let src = args.string("src").unwrap_or_default();
    let path = controller.find_file(FileSource::Templates, &src)?;
    let source = controller
        .read_text(&path)
        .map_err(|e| format!("could not read template: {e}"))?;
    let mut text = controller.render(&source, &path.display().to_string())?;
    let nl = args.str("newline_sequence").unwrap_or("\n");
    if nl != "\n" {
        text = text.replace('\n', nl);
    }
    Ok((path, text))
}
