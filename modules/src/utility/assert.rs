use async_trait::async_trait;
use serde_json::Value;

use crate::spec::{arg, to_bool, ArgType::*, ModuleSpec};
use crate::{Args, ModResult, Module, ModuleError, ModuleResult, Plan, PlanContext};

pub struct Assert;

static SPEC: ModuleSpec = ModuleSpec::new(
    "assert",
    "Fail unless every condition in 'that' is true.",
    &[
        // Raw, not List: a single condition is never split at its commas (Ansible's assert
        // action takes a string as one condition: `that: q("x", y) | length == 0`).
        arg(
            "that",
            Raw,
            "Conditions (Jinja expressions without braces): one, or a list.",
        )
        .required(),
        arg("fail_msg", Raw, "Message when an assertion fails.").aliases(&["msg"]),
        arg("success_msg", Raw, "Message when all assertions pass."),
        arg("quiet", Bool, "Print less.").default("false"),
    ],
);

#[async_trait]
impl Module for Assert {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn plan(&self, ctx: &PlanContext<'_>, args: &Args) -> ModResult<Plan> {
        for cond in args.list("that") {
            let ok = match &cond {
                Value::String(expr) => {
                    let v = ctx.controller.eval(expr).map_err(ModuleError::Failed)?;
                    to_bool(&v).unwrap_or(!matches!(v, Value::Array(ref a) if a.is_empty()))
                }
                other => to_bool(other).unwrap_or(false),
            };
            if !ok {
                let expr = cond
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| cond.to_string());
                let msg = match args.get("fail_msg") {
                    Some(Value::String(m)) => m.clone(),
                    Some(m) => m.to_string(),
                    None => "Assertion failed".into(),
                };
                let mut r = ModuleResult::failed(msg)
                    .with("assertion", expr)
                    .with("evaluated_to", false);
                r.data.insert("failed".into(), Value::Bool(true));
                return Ok(Plan::Done(r));
            }
        }
        let msg = args
            .get("success_msg")
            .cloned()
            .unwrap_or(Value::String("All assertions passed".into()));
        let msg = msg
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| msg.to_string());
        Ok(Plan::Done(ModuleResult::ok().with_msg(msg)))
    }
}
