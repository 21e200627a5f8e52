use async_trait::async_trait;
use serde_json::Value;

use crate::spec::{arg, ArgType::*, ModuleSpec};
use crate::{Args, ModResult, Module, ModuleError, ModuleResult, Plan, PlanContext};

pub struct Debug;

static SPEC: ModuleSpec = ModuleSpec::new(
    "debug",
    "Print a message or a variable's value.",
    &[
        arg("msg", Raw, "Message to print.").default("\"Hello world!\""),
        arg("var", Str, "Variable (or expression) whose value to print."),
        arg("verbosity", Int, "Only print with at least this many -v.").default("0"),
    ],
)
.exclusive(&[&["msg", "var"]])
.shows_result();

#[async_trait]
impl Module for Debug {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn plan(&self, ctx: &PlanContext<'_>, args: &Args) -> ModResult<Plan> {
        let r = if let Some(var) = args.str("var") {
            let v = ctx.controller.eval(var).map_err(ModuleError::Failed)?;
            ModuleResult::ok().with(var, v)
        } else {
            ModuleResult::ok().with("msg", args.get("msg").cloned().unwrap_or(Value::Null))
        };
        Ok(Plan::Done(r))
    }
}
