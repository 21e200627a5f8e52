//! cron: a job in a user's crontab (or a file in /etc/cron.d), found by its `#Ansible: <name>`
//! marker line as Ansible's cron module writes it: added at the end, changed in place,
//! removed with its marker. Environment lines (`env: true`) are not supported.

use async_trait::async_trait;

use super::steps::{add_diffs, ConfigFile, Steps};
use crate::connection::sh_quote;
use crate::spec::{arg, ArgType::*, ModuleSpec};
use crate::{
    Apply, ApplyContext, Args, FileDiff, ModResult, Module, ModuleError, ModuleResult, Plan,
    PlanContext,
};

pub struct Cron;

static SPEC: ModuleSpec = ModuleSpec::new(
    "cron",
    "A cron job in a user's crontab or in /etc/cron.d, named by an '#Ansible: <name>' line.",
    &[
        arg("name", Str, "The job's name (its marker line).").required(),
        arg("job", Str, "The command to run.").aliases(&["value"]),
        arg(
            "user",
            Str,
            "Whose crontab (default: the become user's); with cron_file, the user the job runs as.",
        ),
        arg("state", Str, "present or absent.")
            .default("\"present\"")
            .choices(&["present", "absent"]),
        arg("minute", Str, "Minute (0-59, *, */5...).").default("\"*\""),
        arg("hour", Str, "Hour.").default("\"*\""),
        arg("day", Str, "Day of the month.")
            .default("\"*\"")
            .aliases(&["dom"]),
        arg("month", Str, "Month.").default("\"*\""),
        arg("weekday", Str, "Day of the week.")
            .default("\"*\"")
            .aliases(&["dow"]),
        arg(
            "special_time",
            Str,
            "Instead of the times: @reboot, @daily...",
        )
        .choices(&[
            "annually", "daily", "hourly", "monthly", "reboot", "weekly", "yearly",
        ]),
        arg("disabled", Bool, "Write the job commented out.").default("false"),
        arg(
            "cron_file",
            Path,
            "A file in /etc/cron.d (or an absolute path) instead of the crontab.",
        ),
        arg("backup", Bool, "Accepted for compatibility.").default("false"),
        arg("env", Bool, "Not supported: environment lines.").default("false"),
        arg(
            "insertafter",
            Str,
            "Not supported (environment lines only).",
        ),
        arg(
            "insertbefore",
            Str,
            "Not supported (environment lines only).",
        ),
    ],
);

/// The lines with the job (marker and entry) put in, changed or taken out.
fn new_lines(old: &str, name: &str, entry: Option<&str>) -> String {
    let marker = format!("#Ansible: {name}");
    let mut out: Vec<String> = vec![];
    let mut lines = old.lines().peekable();
    let mut done = false;
    while let Some(l) = lines.next() {
        if l == marker {
            lines.next();
            if let (Some(e), false) = (entry, done) {
                out.push(marker.clone());
                out.push(e.to_string());
                done = true;
            }
            continue;
        }
        out.push(l.to_string());
    }
    if let (Some(e), false) = (entry, done) {
        out.push(marker);
        out.push(e.to_string());
    }
    if out.is_empty() {
        String::new()
    } else {
        out.join("\n") + "\n"
    }
}

/// Installs a user's crontab from text.
struct Install {
    user: Option<String>,
    text: String,
}

#[async_trait]
impl Apply for Install {
    async fn apply(
        self: Box<Self>,
        ctx: &ApplyContext<'_>,
        _args: &Args,
        preview: ModuleResult,
    ) -> ModResult<ModuleResult> {
        let u = self
            .user
            .map(|u| format!(" -u {}", sh_quote(&u)))
            .unwrap_or_default();
        let out = ctx
            .host
            .exec_with_stdin(&format!("crontab{u} -"), Some(self.text.into_bytes()))
            .await?;
        if out.rc != 0 {
            return Err(ModuleError::Failed(format!(
                "cron: crontab{u} - failed: {}",
                out.stderr_str().trim()
            )));
        }
        Ok(preview)
    }
}

#[async_trait]
impl Module for Cron {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn plan(&self, ctx: &PlanContext<'_>, args: &Args) -> ModResult<Plan> {
        if args.bool("env") {
            return Err(ModuleError::Failed(
                "cron: env (environment lines) is not supported by timonel; set the variable in the job or use lineinfile on the crontab file".into(),
            ));
        }
        let name = args.string("name").unwrap_or_default();
        let present = args.str("state") != Some("absent");
        let user = args.string("user");
        let file = args.string("cron_file").map(|f| {
            if f.starts_with('/') {
                f
            } else {
                format!("/etc/cron.d/{f}")
            }
        });
        let entry = if present {
            let Some(job) = args.string("job") else {
                return Err(ModuleError::Failed(
                    "cron: 'job' is required with state=present".into(),
                ));
            };
            let when = match args.str("special_time") {
                Some(s) => format!("@{s}"),
                None => ["minute", "hour", "day", "month", "weekday"]
                    .iter()
                    .map(|k| args.string(k).unwrap_or_else(|| "*".into()))
                    .collect::<Vec<_>>()
                    .join(" "),
            };
            let who = match (&file, &user) {
                (Some(_), Some(u)) => format!(" {u}"),
                (Some(_), None) => " root".to_string(),
                _ => String::new(),
            };
            let off = if args.bool("disabled") { "#" } else { "" };
            Some(format!("{off}{when}{who} {job}"))
        } else {
            None
        };
        let result = ModuleResult::ok().with(
            "jobs",
            serde_json::Value::Array(vec![serde_json::Value::String(name.clone())]),
        );
        if let Some(path) = file {
            let mut f = ConfigFile::read(ctx, &path).await?;
            let old = f.before.clone().unwrap_or_default();
            let new = new_lines(&old, &name, entry.as_deref());
            if f.before.is_some() || !new.is_empty() {
                f.after = Some(new);
            }
            if !f.changed() {
                return Ok(Plan::Done(result));
            }
            let mut preview = result;
            preview.changed = true;
            add_diffs(&mut preview, &[&f], vec![]);
            let mut steps = Steps::default();
            steps.file(f);
            return Ok(Plan::change(preview, crate::Work::Steps(steps)));
        }
        let u = user
            .as_ref()
            .map(|u| format!(" -u {}", sh_quote(u)))
            .unwrap_or_default();
        let out = ctx.host.exec(&format!("crontab{u} -l")).await?;
        let old = if out.rc == 0 {
            out.stdout_str()
        } else if out.stderr_str().contains("no crontab") {
            String::new()
        } else {
            return Err(ModuleError::Failed(format!(
                "cron: crontab{u} -l failed: {}",
                out.stderr_str().trim()
            )));
        };
        let new = new_lines(&old, &name, entry.as_deref());
        if new == old {
            return Ok(Plan::Done(result));
        }
        let mut preview = result;
        preview.changed = true;
        preview
            .diffs
            .push(FileDiff::new(&format!("crontab{u}"), old, new.clone()));
        Ok(Plan::change(
            preview,
            crate::Work::custom(Install { user, text: new }),
        ))
    }
}
