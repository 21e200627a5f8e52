//! timezone (community.general): the system time zone and whether the RTC keeps local time.
//! As community.general does on Linux: with `timedatectl` when it works (systemd), otherwise
//! the Debian way (/etc/timezone, the /etc/localtime link, dpkg-reconfigure tzdata).

use async_trait::async_trait;

use crate::connection::sh_quote;
use crate::spec::{arg, ArgType::*, ModuleSpec};
use crate::{
    Apply, ApplyContext, Args, FileDiff, ModResult, Module, ModuleError, ModuleResult, Plan,
    PlanContext, Work,
};

pub struct Timezone;

static SPEC: ModuleSpec = ModuleSpec::new(
    "timezone",
    "Set the system time zone (and the RTC's local/UTC mode) (community.general.timezone).",
    &[
        arg(
            "name",
            Str,
            "The time zone, e.g. Europe/Berlin (a file under /usr/share/zoneinfo).",
        ),
        arg(
            "hwclock",
            Str,
            "Whether the hardware clock keeps local time or UTC (timedatectl hosts).",
        )
        .choices(&["local", "UTC"])
        .aliases(&["rtc"]),
    ],
)
.one_of(&[&["hwclock", "name"]])
.also_known_as(&["community.general.timezone"]);

/// `Key : value` of timedatectl's status (`Time zone: Europe/Berlin (CET, +0100)`).
fn status_value(status: &str, keys: &[&str]) -> Option<String> {
    status.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        keys.contains(&k.trim())
            .then(|| v.split_whitespace().next().unwrap_or("").to_string())
    })
}

/// The zone a /etc/localtime link points to (`.../zoneinfo/Europe/Berlin`).
fn zone_of_link(target: &str) -> Option<String> {
    ["/usr/share/zoneinfo/", "/etc/zoneinfo/"]
        .iter()
        .find_map(|p| target.find(p).map(|i| target[i + p.len()..].to_string()))
}

enum How {
    Timedatectl,
    Debian,
}

struct Set {
    how: How,
    name: Option<String>,
    hwclock: Option<String>,
}

#[async_trait]
impl Module for Timezone {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn plan(&self, ctx: &PlanContext<'_>, args: &Args) -> ModResult<Plan> {
        let want_name = args.string("name");
        let want_rtc = args.string("hwclock");
        if let Some(n) = &want_name {
            let zone = format!("/usr/share/zoneinfo/{n}");
            if ctx
                .host
                .exec(&format!("test -f {}", sh_quote(&zone)))
                .await?
                .rc
                != 0
            {
                return Err(ModuleError::Failed(format!(
                    "given timezone \"{n}\" is not available"
                )));
            }
        }
        let tdc = ctx
            .host
            .exec("command -v timedatectl >/dev/null 2>&1 && timedatectl status")
            .await?;
        let (how, now_name, now_rtc) = if tdc.rc == 0 {
            let s = tdc.stdout_str();
            let rtc = status_value(&s, &["RTC in local TZ"]).map(|v| {
                if crate::spec::to_bool(&v.as_str().into()) == Some(true) {
                    "local".to_string()
                } else {
                    "UTC".to_string()
                }
            });
            (
                How::Timedatectl,
                status_value(&s, &["Time zone", "Timezone"]),
                rtc,
            )
        } else {
            if want_rtc.is_some() {
                return Err(ModuleError::Failed(
                    "timezone: hwclock is set through timedatectl, which this host lacks or \
                     can't use (no systemd)"
                        .into(),
                ));
            }
            let conf = ctx.host.read("/etc/timezone").await?.unwrap_or_default();
            let mut name = String::from_utf8_lossy(&conf)
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_string();
            if let Some(want) = want_name.as_ref().filter(|w| **w == name) {
                // The file says so; /etc/localtime must agree (a link to the zone, or the same
                // bytes), as community.general checks.
                let link = ctx.host.exec("readlink /etc/localtime").await?;
                if link.rc == 0 {
                    let target = link.stdout_str().trim().to_string();
                    let exists = ctx.host.exec("test -e /etc/localtime").await?.rc == 0;
                    name = match zone_of_link(&target) {
                        Some(z) if exists => z,
                        _ => "n/a".into(),
                    };
                } else {
                    let same = ctx
                        .host
                        .exec(&format!(
                            "cmp -s /etc/localtime {}",
                            sh_quote(&format!("/usr/share/zoneinfo/{want}"))
                        ))
                        .await?;
                    if same.rc != 0 {
                        name = "n/a".into();
                    }
                }
            }
            (How::Debian, Some(name), None)
        };
        let mut before = String::new();
        let mut after = String::new();
        let mut set = Set {
            how,
            name: None,
            hwclock: None,
        };
        if let Some(w) = &want_name {
            let now = now_name.clone().unwrap_or_default();
            before.push_str(&format!("name: {now}\n"));
            after.push_str(&format!("name: {w}\n"));
            if &now != w {
                set.name = Some(w.clone());
            }
        }
        if let Some(w) = &want_rtc {
            let now = now_rtc.clone().unwrap_or_default();
            before.push_str(&format!("hwclock: {now}\n"));
            after.push_str(&format!("hwclock: {w}\n"));
            if &now != w {
                set.hwclock = Some(w.clone());
            }
        }
        if set.name.is_none() && set.hwclock.is_none() {
            return Ok(Plan::Done(ModuleResult::ok()));
        }
        let mut preview = ModuleResult::changed();
        if ctx.diff {
            preview.diffs.push(FileDiff::new("timezone", before, after));
        }
        Ok(Plan::change(preview, Work::custom(set)))
    }
}

#[async_trait]
impl Apply for Set {
    async fn apply(
        self: Box<Self>,
        ctx: &ApplyContext<'_>,
        _args: &Args,
        preview: ModuleResult,
    ) -> ModResult<ModuleResult> {
        match self.how {
            How::Timedatectl => {
                if let Some(n) = &self.name {
                    ctx.host
                        .exec_ok(&format!("timedatectl set-timezone {}", sh_quote(n)))
                        .await?;
                }
                if let Some(h) = &self.hwclock {
                    let yes = if h == "local" { "yes" } else { "no" };
                    ctx.host
                        .exec_ok(&format!("timedatectl set-local-rtc {yes}"))
                        .await?;
                }
            }
            How::Debian => {
                if let Some(n) = &self.name {
                    ctx.host
                        .write_atomic(
                            "/etc/timezone",
                            format!("{n}\n").as_bytes(),
                            &Default::default(),
                            None,
                        )
                        .await?;
                    let zone = sh_quote(&format!("/usr/share/zoneinfo/{n}"));
                    ctx.host
                        .exec_ok(&format!(
                            "ln -sf {zone} /etc/localtime && if command -v dpkg-reconfigure >/dev/null 2>&1; then dpkg-reconfigure --frontend noninteractive tzdata; fi"
                        ))
                        .await?;
                }
            }
        }
        Ok(preview)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timedatectl_status_is_read() {
        let s = "               Local time: Mon 2026-11-30 05:00:00 CET\n                Time zone: Europe/Berlin (CET, +0100)\n          RTC in local TZ: no\n";
        assert_eq!(
            status_value(s, &["Time zone"]).as_deref(),
            Some("Europe/Berlin")
        );
        assert_eq!(status_value(s, &["RTC in local TZ"]).as_deref(), Some("no"));
        assert_eq!(
            zone_of_link("../usr/share/zoneinfo/America/New_York").as_deref(),
            Some("America/New_York")
        );
    }
}
