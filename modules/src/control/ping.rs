use async_trait::async_trait;

use crate::spec::{arg, ArgType::*, ModuleSpec};
use crate::{Args, ModResult, Module, ModuleContext, ModuleError, ModuleResult, Plan};

pub struct Ping;

static SPEC: ModuleSpec = ModuleSpec {
    name: "ping",
    description: "Check that the host answers and can run a shell; returns 'pong'.",
    args: &[arg(
        "data",
        Str,
        "What to return; 'crash' makes the module fail.",
    )
    .default("\"pong\"")],
    free_form: None,
    required_one_of: &[],
    mutually_exclusive: &[],
    open: false,
};

#[async_trait]
impl Module for Ping {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn plan(&self, ctx: &ModuleContext<'_>, args: &Args) -> ModResult<Plan> {
        let data = args.string("data").unwrap_or_else(|| "pong".into());
        if data == "crash" {
            return Err(ModuleError::Failed("boom".into()));
        }
        ctx.host.exec_ok("true").await?;
        Ok(Plan::Done(ModuleResult::ok().with("ping", data)))
    }

    async fn apply(
        &self,
        _: &ModuleContext<'_>,
        _: &Args,
        p: ModuleResult,
        _: Box<dyn std::any::Any + Send>,
    ) -> ModResult<ModuleResult> {
        Ok(p)
    }
}
