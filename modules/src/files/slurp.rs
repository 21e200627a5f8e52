use async_trait::async_trait;
use base64::Engine;

use crate::spec::{arg, ArgType::*, ModuleSpec};
use crate::{Args, ModResult, Module, ModuleError, ModuleResult, Plan, PlanContext};

pub struct Slurp;

static SPEC: ModuleSpec = ModuleSpec::new(
    "slurp",
    "Read a file from the host, returned base64-encoded in 'content'.",
    &[arg("src", Path, "File to read.")
        .required()
        .aliases(&["path"])],
);

#[async_trait]
impl Module for Slurp {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn plan(&self, ctx: &PlanContext<'_>, args: &Args) -> ModResult<Plan> {
        let src = args.string("src").unwrap_or_default();
        let data = ctx
            .host
            .read(&src)
            .await?
            .ok_or_else(|| ModuleError::Failed(format!("file not found: {src}")))?;
        Ok(Plan::Done(
            ModuleResult::ok()
                .with(
                    "content",
                    base64::engine::general_purpose::STANDARD.encode(data),
                )
                .with("encoding", "base64")
                .with("source", src),
        ))
    }
}
