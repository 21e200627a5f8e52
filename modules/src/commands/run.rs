//! What command, shell and raw share: creates/removes guards, running, and the result shape.

use std::time::Instant;

use serde_json::Value;

use crate::connection::sh_quote;
use crate::{ApplyContext, Args, ModResult, ModuleResult, PlanContext};

/// `creates`/`removes`: Some(result) when the command should not run.
pub async fn guard(ctx: &PlanContext<'_>, args: &Args) -> ModResult<Option<ModuleResult>> {
    if let Some(c) = args.str("creates") {
        if ctx.host.exec(&format!("[ -e {} ]", sh_quote(c))).await?.rc == 0 {
            return Ok(Some(
                ModuleResult::ok()
                    .with_msg(format!("skipped, since {c} exists"))
                    .with("rc", 0),
            ));
        }
    }
    if let Some(r) = args.str("removes") {
        if ctx.host.exec(&format!("[ -e {} ]", sh_quote(r))).await?.rc != 0 {
            return Ok(Some(
                ModuleResult::ok()
                    .with_msg(format!("skipped, since {r} does not exist"))
                    .with("rc", 0),
            ));
        }
    }
    Ok(None)
}

fn lines(s: &str) -> Value {
    Value::Array(s.lines().map(|l| Value::String(l.to_string())).collect())
}

/// Runs `script` with `sh -c` and reports it the way Ansible's command module does.
pub async fn run(
    ctx: &ApplyContext<'_>,
    args: &Args,
    script: String,
    shown: Value,
) -> ModResult<ModuleResult> {
    let script = match args.str("chdir") {
        Some(d) => format!("cd {} || exit 1; {script}", sh_quote(d)),
        None => script,
    };
    let stdin = args.str("stdin").map(|s| {
        let mut b = s.as_bytes().to_vec();
        if args
            .get("stdin_add_newline")
            .is_none_or(|v| v.as_bool() != Some(false))
        {
            b.push(b'\n');
        }
        b
    });
    let start = Instant::now();
    let started = chrono_now();
    let out = ctx.host.exec_with_stdin(&script, stdin).await?;
    let delta = start.elapsed();
    let strip = args
        .get("strip_empty_ends")
        .is_none_or(|v| v.as_bool() != Some(false));
    let clean = |b: &[u8]| {
        let s = String::from_utf8_lossy(b).into_owned();
        if strip {
            s.trim_end_matches(['\n', '\r']).to_string()
        } else {
            s
        }
    };
    let stdout = clean(&out.stdout);
    let stderr = clean(&out.stderr);
    let mut r = ModuleResult::changed()
        .with("cmd", shown)
        .with("rc", out.rc)
        .with("stdout_lines", lines(&stdout))
        .with("stderr_lines", lines(&stderr))
        .with("stdout", stdout)
        .with("stderr", stderr)
        .with("start", started)
        .with("end", chrono_now())
        .with(
            "delta",
            format!(
                "{}:{:02}:{:02}.{:06}",
                delta.as_secs() / 3600,
                delta.as_secs() / 60 % 60,
                delta.as_secs() % 60,
                delta.subsec_micros()
            ),
        );
    if out.rc != 0 {
        r.failed = true;
        r.msg = Some("non-zero return code".into());
    }
    Ok(r)
}

/// Wall-clock time as "YYYY-MM-DD HH:MM:SS.ffffff" (UTC), without a date crate.
fn chrono_now() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs() as i64;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = crate::calendar::civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}.{:06}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        now.subsec_micros()
    )
}
