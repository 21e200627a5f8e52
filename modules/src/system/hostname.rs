//! `hostname`: the host's name, now (the kernel's) and at boot (/etc/hostname).

use async_trait::async_trait;

use super::steps::{add_diffs, state_diff, ConfigFile, Steps};
use crate::connection::sh_quote;
use crate::spec::{arg, ArgType::*, ModuleSpec};
use crate::{Args, ModResult, Module, ModuleError, ModuleResult, Plan, PlanContext};

pub struct Hostname;

static SPEC: ModuleSpec = ModuleSpec::new(
    "hostname",
    "Set the host's name, for now and for every boot (/etc/hostname).",
    &[
        arg("name", Str, "The new name, e.g. k8s-cp-1.").required(),
        arg(
            "use",
            Str,
            "Accepted for compatibility: the name is set the same way on every Linux.",
        )
        .choices(&[
            "alpine", "debian", "freebsd", "generic", "macos", "macosx", "darwin", "openbsd",
            "openrc", "redhat", "sles", "solaris", "systemd",
        ]),
    ],
);

/// RFC 1123 names, within the kernel's 64 bytes.
fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 64 {
        return Err("it must be 1 to 64 characters long".into());
    }
    for label in name.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err("each dot-separated part must be 1 to 63 characters long".into());
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err("a part cannot start or end with '-'".into());
        }
        if let Some(c) = label
            .chars()
            .find(|c| !c.is_ascii_alphanumeric() && *c != '-')
        {
            return Err(format!(
                "'{c}' is not allowed: use letters, digits, '-' and '.'"
            ));
        }
    }
    Ok(())
}

#[async_trait]
impl Module for Hostname {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn plan(&self, ctx: &PlanContext<'_>, args: &Args) -> ModResult<Plan> {
        let name = args.string("name").unwrap_or_default();
        check_name(&name)
            .map_err(|e| ModuleError::Failed(format!("invalid hostname '{name}': {e}")))?;
        let running = ctx.host.exec_ok("cat /proc/sys/kernel/hostname").await?;
        let running = running.stdout_str().trim().to_string();
        let mut file = ConfigFile::read(ctx, "/etc/hostname").await?;
        if file.before.as_deref().map(str::trim) != Some(name.as_str()) {
            file.after = Some(format!("{name}\n"));
        }
        let short = name.split('.').next().unwrap_or(&name).to_string();
        let facts = serde_json::json!({
            "hostname": short,
            "nodename": name,
            "fqdn": name,
            "domain": name.split_once('.').map(|x| x.1).unwrap_or(""),
        });
        let result = ModuleResult::ok()
            .with("name", name.clone())
            .with("ansible_facts", facts);
        if running == name && !file.changed() {
            return Ok(Plan::Done(result));
        }
        let mut preview = result;
        preview.changed = true;
        let mut states = vec![];
        let mut steps = Steps::default();
        if running != name {
            states.push(state_diff("running hostname", &running, &name));
        }
        if ctx.diff {
            add_diffs(&mut preview, &[&file], states);
        }
        steps.file(file);
        if running != name {
            steps.run(format!("hostname {}", sh_quote(&name)));
        }
        Ok(Plan::change(preview, crate::Work::Steps(steps)))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn names() {
        assert!(super::check_name("k8s-cp-1.example.com").is_ok());
        assert!(super::check_name("web_1").unwrap_err().contains("'_'"));
        assert!(super::check_name("-a").is_err());
        assert!(super::check_name(&"a".repeat(65)).is_err());
    }
}
