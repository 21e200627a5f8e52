//! `reboot`: reboot the host and wait until it is back (a new boot id, and the test command
//! answers over a fresh connection).

use std::time::{Duration, Instant};

use async_trait::async_trait;

use crate::connection::sh_quote;
use crate::spec::{arg, ArgType::*, ModuleSpec};
use crate::{
    Apply, ApplyContext, Args, ModResult, Module, ModuleError, ModuleResult, Plan, PlanContext,
    Work,
};

pub struct Reboot;

static SPEC: ModuleSpec = ModuleSpec::new(
    "reboot",
    "Reboot the host and wait until it is back and answers.",
    &[
        arg(
            "reboot_timeout",
            Int,
            "Seconds to wait for the host to come back.",
        )
        .default("600"),
        arg(
            "connect_timeout",
            Int,
            "Accepted for compatibility; the connection's own timeout applies.",
        ),
        arg("pre_reboot_delay", Int, "Seconds to wait before rebooting.").default("0"),
        arg(
            "post_reboot_delay",
            Int,
            "Seconds to wait after the host is back.",
        )
        .default("0"),
        arg("msg", Str, "Message shown to logged-in users.")
            .default("\"Reboot initiated by timonel\""),
        arg(
            "test_command",
            Str,
            "Command that must succeed once the host is back.",
        )
        .default("\"whoami\""),
        arg(
            "reboot_command",
            Str,
            "Command that reboots (default: shutdown -r now, then systemctl reboot, then reboot).",
        ),
        arg(
            "boot_time_command",
            Str,
            "Command whose output changes with every boot.",
        )
        .default("\"cat /proc/sys/kernel/random/boot_id\""),
        arg("search_paths", List, "Accepted for compatibility."),
    ],
);

async fn boot_id(ctx: &ApplyContext<'_>, cmd: &str) -> Result<String, String> {
    match ctx.host.exec(cmd).await {
        Ok(o) if o.rc == 0 => Ok(o.stdout_str().trim().to_string()),
        Ok(o) => Err(format!("'{cmd}' failed: {}", o.stderr_str().trim())),
        Err(e) => Err(e.to_string()),
    }
}

#[async_trait]
impl Module for Reboot {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn plan(&self, _ctx: &PlanContext<'_>, _args: &Args) -> ModResult<Plan> {
        // A reboot is always a change; check mode reports it and does nothing.
        Ok(Plan::change(
            ModuleResult::changed().with("rebooted", true),
            Work::custom(Reboot),
        ))
    }
}

#[async_trait]
impl Apply for Reboot {
    async fn apply(
        self: Box<Self>,
        ctx: &ApplyContext<'_>,
        args: &Args,
        preview: ModuleResult,
    ) -> ModResult<ModuleResult> {
        let start = Instant::now();
        let secs = |k: &str| Duration::from_secs(args.int(k).unwrap_or(0).max(0) as u64);
        let boot_cmd = args.string("boot_time_command").unwrap_or_default();
        let before = boot_id(ctx, &boot_cmd).await.map_err(|e| {
            ModuleError::Failed(format!("cannot read the boot id before rebooting: {e}"))
        })?;
        let msg = sh_quote(&args.string("msg").unwrap_or_default());
        let reboot = args
            .string("reboot_command")
            .unwrap_or_else(|| format!("shutdown -r now {msg} || systemctl reboot || reboot"));
        // Detached and a second later, so this command returns before the connection drops.
        let delay = secs("pre_reboot_delay").as_secs() + 1;
        ctx.host
            .exec_ok(&format!(
                "nohup sh -c {} >/dev/null 2>&1 </dev/null &",
                sh_quote(&format!("sleep {delay}; {reboot}"))
            ))
            .await
            .map_err(|e| ModuleError::Failed(format!("cannot start the reboot: {e}")))?;
        tokio::time::sleep(Duration::from_secs(delay)).await;

        let timeout = secs("reboot_timeout");
        let test = args.string("test_command").unwrap_or_default();
        loop {
            // Every failed try is a connection that will simply be opened again.
            let last = match boot_id(ctx, &boot_cmd).await {
                Ok(id) if id != before => match ctx.host.exec(&test).await {
                    Ok(o) if o.rc == 0 => break,
                    Ok(o) => format!("test command '{test}' failed: {}", o.stderr_str().trim()),
                    Err(e) => e.to_string(),
                },
                Ok(_) => "the host has not rebooted yet (same boot id)".into(),
                Err(e) => e,
            };
            if start.elapsed() >= timeout {
                return Err(ModuleError::Failed(format!(
                    "the host did not come back within {}s after the reboot: {}",
                    timeout.as_secs(),
                    last.trim()
                )));
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
        tokio::time::sleep(secs("post_reboot_delay")).await;
        Ok(preview.with("elapsed", start.elapsed().as_secs()))
    }
}
