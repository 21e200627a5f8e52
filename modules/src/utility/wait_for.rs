use std::time::{Duration, Instant};

use async_trait::async_trait;

use crate::connection::sh_quote;
use crate::spec::{arg, ArgType::*, ModuleSpec};
use crate::{Args, ModResult, Module, ModuleResult, Plan, PlanContext};

pub struct WaitFor;

static SPEC: ModuleSpec = ModuleSpec::new(
    "wait_for",
    "Wait, on the host, for a TCP port to open or close or a path to appear or go.",
    &[
        arg("host", Str, "Address to connect to, as seen from the host.").default("\"127.0.0.1\""),
        arg("port", Int, "TCP port to wait for."),
        arg("path", Path, "File to wait for."),
        arg(
            "state",
            Str,
            "started/present: wait until open or existing; stopped/absent: until closed or gone.",
        )
        .default("\"started\"")
        .choices(&["started", "stopped", "present", "absent"]),
        arg(
            "search_regex",
            Str,
            "With path: wait until the file contains a match.",
        ),
        arg("timeout", Int, "Seconds before failing.").default("300"),
        arg("delay", Int, "Seconds to wait before the first check.").default("0"),
        arg("sleep", Int, "Seconds between checks.").default("1"),
        arg(
            "connect_timeout",
            Int,
            "Seconds for each connection attempt.",
        )
        .default("5"),
        arg("msg", Str, "Message on timeout."),
    ],
)
.exclusive(&[&["port", "path"]]);

/// A probe that exits 0 when the condition holds. TCP connects use bash's /dev/tcp when
/// bash exists, else listening sockets from /proc/net/tcp (enough for local ports).
fn probe(args: &Args) -> String {
    if let Some(port) = args.int("port") {
        let host = args.str("host").unwrap_or("127.0.0.1");
        let ct = args.int("connect_timeout").unwrap_or(5);
        let hexport = format!("{port:04X}");
        format!(
            "if command -v bash >/dev/null 2>&1; then timeout {ct} bash -c {} 2>/dev/null; \
             else cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk '$4==\"0A\" {{print $2}}' | grep -qi ':{hexport}$'; fi",
            sh_quote(&format!("exec 3<>/dev/tcp/{host}/{port}"))
        )
    } else if let Some(path) = args.str("path") {
        match args.str("search_regex") {
            Some(re) => format!("grep -Eq {} {} 2>/dev/null", sh_quote(re), sh_quote(path)),
            None => format!("[ -e {} ]", sh_quote(path)),
        }
    } else {
        "false".into()
    }
}

#[async_trait]
impl Module for WaitFor {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn plan(&self, ctx: &PlanContext<'_>, args: &Args) -> ModResult<Plan> {
        let start = Instant::now();
        let delay = args.int("delay").unwrap_or(0).max(0) as u64;
        if args.get("port").is_none() && args.get("path").is_none() {
            if delay > 0 {
                tokio::time::sleep(Duration::from_secs(delay)).await;
            }
            return Ok(Plan::Done(ModuleResult::ok().with("elapsed", delay)));
        }
        tokio::time::sleep(Duration::from_secs(delay)).await;
        let want = matches!(args.str("state"), Some("started") | Some("present") | None);
        let timeout = Duration::from_secs(args.int("timeout").unwrap_or(300).max(0) as u64);
        let sleep = Duration::from_secs(args.int("sleep").unwrap_or(1).max(1) as u64);
        let cmd = probe(args);
        loop {
            let holds = ctx.host.exec(&cmd).await?.rc == 0;
            if holds == want {
                return Ok(Plan::Done(
                    ModuleResult::ok().with("elapsed", start.elapsed().as_secs()),
                ));
            }
            if start.elapsed() >= timeout {
                let what = match (args.int("port"), args.str("path")) {
                    (Some(p), _) => {
                        format!("port {p} on {}", args.str("host").unwrap_or("127.0.0.1"))
                    }
                    (_, Some(p)) => format!("path {p}"),
                    _ => String::new(),
                };
                let state = if want {
                    "started/present"
                } else {
                    "stopped/absent"
                };
                let msg = args
                    .string("msg")
                    .unwrap_or_else(|| format!("Timeout when waiting for {what} to be {state}"));
                return Ok(Plan::Done(
                    ModuleResult::failed(msg).with("elapsed", start.elapsed().as_secs()),
                ));
            }
            tokio::time::sleep(sleep).await;
        }
    }
}
