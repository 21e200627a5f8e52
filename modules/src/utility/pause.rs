use async_trait::async_trait;

use crate::spec::{arg, ArgType::*, ModuleSpec};
use crate::{Args, ModResult, Module, ModuleResult, Plan, PlanContext};

pub struct Pause;

static SPEC: ModuleSpec = ModuleSpec::new(
    "pause",
    "Wait for a number of seconds or minutes.",
    &[
        arg("seconds", Float, "Seconds to wait."),
        arg("minutes", Float, "Minutes to wait."),
        arg(
            "prompt",
            Str,
            "Text to show while waiting (no input is read).",
        ),
        arg("echo", Bool, "Accepted for compatibility.").default("true"),
    ],
)
.exclusive(&[&["seconds", "minutes"]]);

#[async_trait]
impl Module for Pause {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn plan(&self, _: &PlanContext<'_>, args: &Args) -> ModResult<Plan> {
        let secs = args
            .float("seconds")
            .or(args.float("minutes").map(|m| m * 60.0))
            .unwrap_or(0.0);
        if secs > 0.0 {
            tokio::time::sleep(std::time::Duration::from_secs_f64(secs)).await;
        }
        let mut r = ModuleResult::ok()
            .with("delta", secs as i64)
            .with("echo", true);
        if let Some(p) = args.str("prompt") {
            r = r.with("user_input", "").with_msg(p);
        }
        Ok(Plan::Done(r))
    }
}
