use async_trait::async_trait;

use crate::spec::{arg, ArgType::*, ModuleSpec};
use crate::{Args, ModResult, Module, ModuleResult, Plan, PlanContext};

pub struct Fail;

static SPEC: ModuleSpec = ModuleSpec::new(
    "fail",
    "Fail the task with a message.",
    &[arg("msg", Raw, "The failure message.").default("\"Failed as requested from task\"")],
);

#[async_trait]
impl Module for Fail {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn plan(&self, _: &PlanContext<'_>, args: &Args) -> ModResult<Plan> {
        let msg = match args.get("msg") {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(v) => v.to_string(),
            None => "Failed as requested from task".into(),
        };
        Ok(Plan::Done(ModuleResult::failed(msg)))
    }
}
