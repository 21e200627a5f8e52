use async_trait::async_trait;

use crate::spec::{arg, ArgType::*, ModuleSpec};
use crate::{Args, ModResult, Module, ModuleError, ModuleResult, Plan, PlanContext};

pub struct Ping;

static SPEC: ModuleSpec = ModuleSpec::new(
    "ping",
    "Check that the host answers and can run a shell; returns 'pong'.",
    &[arg(
        "data",
        Str,
        "What to return; 'crash' makes the module fail.",
    )
    .default("\"pong\"")],
);

#[async_trait]
impl Module for Ping {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn plan(&self, ctx: &PlanContext<'_>, args: &Args) -> ModResult<Plan> {
        let data = args.string("data").unwrap_or_else(|| "pong".into());
        if data == "crash" {
            // Ansible's ping raises an exception here; the task's message is then
            // ansible-core's for a module that crashed.
            return Err(ModuleError::Failed(
                "Task failed: Module failed: boom".into(),
            ));
        }
        ctx.host.exec_ok("true").await?;
        Ok(Plan::Done(ModuleResult::ok().with("ping", data)))
    }
}
