use std::time::{Duration, Instant};

use async_trait::async_trait;

use crate::spec::{arg, ArgType::*, ModuleSpec};
use crate::{Args, ModResult, Module, ModuleError, ModuleResult, Plan, PlanContext};

pub struct WaitForConnection;

static SPEC: ModuleSpec = ModuleSpec::new(
    "wait_for_connection",
    "Wait until the host answers (a fresh or rebooting server): retries the connection instead of failing.",
    &[
        arg("timeout", Int, "Seconds before giving up.").default("600"),
        arg("delay", Int, "Seconds to wait before the first try.").default("0"),
        arg("sleep", Int, "Seconds between tries.").default("1"),
    ],
);

#[async_trait]
impl Module for WaitForConnection {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn plan(&self, ctx: &PlanContext<'_>, args: &Args) -> ModResult<Plan> {
        let start = Instant::now();
        let timeout = Duration::from_secs(args.int("timeout").unwrap_or(600).max(0) as u64);
        let sleep = Duration::from_secs(args.int("sleep").unwrap_or(1).max(1) as u64);
        tokio::time::sleep(Duration::from_secs(
            args.int("delay").unwrap_or(0).max(0) as u64
        ))
        .await;
        loop {
            // A failed try is not the host's failure: the connection is simply opened again.
            let last = match ctx.host.exec("true").await {
                Ok(out) if out.rc == 0 => {
                    return Ok(Plan::Done(
                        ModuleResult::ok().with("elapsed", start.elapsed().as_secs()),
                    ))
                }
                Ok(out) => out.stderr_str(),
                Err(e) => e.to_string(),
            };
            if start.elapsed() >= timeout {
                return Err(ModuleError::Failed(format!(
                    "timed out after {}s waiting for the connection: {}",
                    start.elapsed().as_secs(),
                    last.trim()
                )));
            }
            tokio::time::sleep(sleep).await;
        }
    }
}
