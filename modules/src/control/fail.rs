use async_trait::async_trait;

use crate::spec::{arg, ArgType::*, ModuleSpec};
use crate::{Args, ModResult, Module, ModuleContext, ModuleResult, Plan};

pub struct Fail;

static SPEC: ModuleSpec = ModuleSpec {
    name: "fail",
    description: "Fail the task with a message.",
    args: &[arg("msg", Raw, "The failure message.").default("\"Failed as requested from task\"")],
    free_form: None,
    required_one_of: &[],
    mutually_exclusive: &[],
    open: false,
};

#[async_trait]
impl Module for Fail {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn plan(&self, _: &ModuleContext<'_>, args: &Args) -> ModResult<Plan> {
        let msg = match args.get("msg") {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(v) => v.to_string(),
            None => "Failed as requested from task".into(),
        };
        Ok(Plan::Done(ModuleResult::failed(msg)))
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
