//! apt: Debian packages through apt-get, non-interactive. The plan step asks dpkg-query what
//! is installed and `apt-get -s` what would change, so check mode reports exactly what apt
//! would install, upgrade or remove. apt-get waits for the dpkg lock (fresh cloud servers run
//! unattended-upgrades at boot) instead of failing.

use async_trait::async_trait;
use serde_json::{json, Value};

use crate::connection::sh_quote;
use crate::spec::{arg, ArgType::*, ModuleSpec};
use crate::{
    Apply, ApplyContext, Args, FileDiff, ModResult, Module, ModuleError, ModuleResult, Plan,
    PlanContext,
};

pub struct Apt;

pub(crate) const SPEC: ModuleSpec = ModuleSpec::new(
    "apt",
    "Install, upgrade or remove Debian packages with apt-get (waits for the dpkg lock).",
    &[
        arg("name", List, "Packages; `name=version` pins a version.").aliases(&["pkg", "package"]),
        arg(
            "state",
            Str,
            "present (installed), latest (upgraded), absent (removed); fixed = present.",
        )
        .default("\"present\"")
        .choices(&["present", "latest", "absent", "fixed"]),
        arg("update_cache", Bool, "Run apt-get update first.")
            .default("false")
            .aliases(&["update-cache"]),
        arg(
            "cache_valid_time",
            Int,
            "Skip the update if the cache is younger than this many seconds.",
        )
        .default("0"),
        arg(
            "install_recommends",
            Bool,
            "Install recommended packages (default: apt's setting).",
        )
        .aliases(&["install-recommends"]),
        arg(
            "allow_downgrade",
            Bool,
            "Allow installing an older version than the installed one.",
        )
        .default("false")
        .aliases(&["allow-downgrade", "allow_downgrades", "allow-downgrades"]),
        arg(
            "allow_change_held_packages",
            Bool,
            "Allow installing or upgrading held packages (a pinned version changes).",
        )
        .default("false"),
        arg(
            "purge",
            Bool,
            "With absent: remove configuration files too.",
        )
        .default("false"),
        arg("autoremove", Bool, "Remove packages no longer needed.").default("false"),
        arg("deb", Path, "Path of a .deb file on the host to install."),
        arg("dpkg_options", Str, "Options for dpkg, comma-separated.")
            .default("\"force-confdef,force-confold\""),
        arg("lock_timeout", Int, "Seconds to wait for the dpkg lock.").default("180"),
        arg(
            "default_release",
            Str,
            "Install from this release (apt-get -t), e.g. bookworm-backports.",
        )
        .aliases(&["default-release"]),
        arg(
            "upgrade",
            Raw,
            "Upgrade every package: yes/safe (apt-get upgrade --with-new-pkgs), full/dist (apt-get dist-upgrade), or no. Packages named with it are not looked at, as in Ansible.",
        )
        .default("\"no\""),
    ],
)
.one_of(&[&["name", "deb", "update_cache", "upgrade", "autoremove"]]);

/// The apt-get command of an `upgrade` value (Ansible's modes; YAML booleans are yes/no).
fn upgrade_verb(v: Option<&Value>) -> ModResult<Option<&'static str>> {
    let mode = match v {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Bool(b)) => if *b { "yes" } else { "no" }.to_string(),
        Some(Value::String(s)) => match crate::spec::to_bool(&Value::String(s.clone())) {
            Some(true) if !matches!(s.as_str(), "safe" | "full" | "dist") => "yes".into(),
            Some(false) => "no".into(),
            _ => s.to_ascii_lowercase(),
        },
        Some(other) => other.to_string(),
    };
    match mode.as_str() {
        "no" => Ok(None),
        "yes" | "safe" => Ok(Some("upgrade --with-new-pkgs")),
        "full" | "dist" => Ok(Some("dist-upgrade")),
        _ => Err(ModuleError::Failed(format!(
            "argument 'upgrade' must be one of dist, full, no, safe, yes, got '{mode}'"
        ))),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Change {
    action: &'static str,
    package: String,
    from: Option<String>,
    to: Option<String>,
}

/// `Inst pkg [old] (new repo [arch])`, `Remv pkg [old]`, `Purg pkg [old]` lines of apt-get -s.
fn parse_simulation(out: &str) -> Vec<Change> {
    let mut v = vec![];
    for line in out.lines() {
        let mut words = line.split_whitespace();
        let action = match words.next() {
            Some("Inst") => "install",
            Some("Remv") => "remove",
            Some("Purg") => "purge",
            _ => continue,
        };
        let Some(pkg) = words.next() else { continue };
        let rest: Vec<&str> = words.collect();
        let rest = rest.join(" ");
        let bracket = rest
            .strip_prefix('[')
            .and_then(|r| r.split(']').next())
            .map(str::to_string);
        let paren = rest
            .find('(')
            .and_then(|i| rest[i + 1..].split_whitespace().next())
            .map(str::to_string);
        let action = if action == "install" && bracket.is_some() {
            "upgrade"
        } else {
            action
        };
        v.push(Change {
            action,
            package: pkg.to_string(),
            from: bracket,
            to: paren,
        });
    }
    v
}

/// apt's "E:" lines, which say what is wrong.
fn apt_error(stderr: &str, stdout: &str) -> String {
    let e: Vec<&str> = stderr
        .lines()
        .chain(stdout.lines())
        .filter(|l| l.starts_with("E:"))
        .map(|l| l.trim_start_matches("E:").trim())
        .collect();
    if e.is_empty() {
        stderr.trim().to_string()
    } else {
        e.join("; ")
    }
}

struct AptRun {
    update: bool,
    command: Option<String>,
    /// The dry run to repeat once the cache is updated, when the plan saw old lists.
    simulate: Option<String>,
}

/// apt-get update exits 0 when a repository could not be verified or fetched; those
/// warnings mean the update failed.
pub(crate) fn update_failed(rc: i32, out: &str, err: &str) -> bool {
    rc != 0
        || out.lines().chain(err.lines()).any(|l| {
            l.starts_with("E:")
                || l.starts_with("W: Failed to fetch")
                || l.contains("GPG error")
                || l.contains("NO_PUBKEY")
        })
}

pub(crate) fn update_messages(out: &str, err: &str) -> String {
    let lines: Vec<&str> = out
        .lines()
        .chain(err.lines())
        .filter(|l| l.starts_with("E:") || l.starts_with("W:"))
        .collect();
    if lines.is_empty() {
        err.trim().to_string()
    } else {
        lines.join("; ")
    }
}

/// Key files named by `signed-by` in the sources that do not exist on the host.
pub(crate) const MISSING_KEYS: &str = "for k in $(grep -rhoi 'signed-by[=:] *[^] ]*' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null | sed 's/^[^=:]*[=:] *//'); do [ -e \"$k\" ] || echo \"$k\"; done";

fn changes_json(changes: &[Change]) -> Value {
    let of = |kinds: &[&str]| -> Vec<Value> {
        changes
            .iter()
            .filter(|c| kinds.contains(&c.action))
            .map(|c| json!({"name": c.package, "from": c.from, "to": c.to}))
            .collect()
    };
    json!({"installed": of(&["install"]), "upgraded": of(&["upgrade"]), "removed": of(&["remove", "purge"])})
}

pub(crate) fn apt_get(args: &Args) -> String {
    let t = args.int("lock_timeout").unwrap_or(180).max(0);
    let mut c = format!("DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout={t}");
    for o in args
        .str("dpkg_options")
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
    {
        c.push_str(&format!(" -o Dpkg::Options::=--{o}"));
    }
    c
}

#[async_trait]
impl Module for Apt {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn plan(&self, ctx: &PlanContext<'_>, args: &Args) -> ModResult<Plan> {
        let state = match args.str("state").unwrap_or("present") {
            "fixed" => "present",
            s => s,
        };
        let mut names: Vec<(String, Option<String>)> = vec![];
        for n in args.strings("name") {
            for part in n.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                match part.split_once('=') {
                    Some((p, v)) if state == "latest" => {
                        return Err(ModuleError::Failed(format!(
                            "'{p}={v}': a version pin cannot be combined with state=latest"
                        )))
                    }
                    Some((p, v)) => names.push((p.to_string(), Some(v.to_string()))),
                    None => names.push((part.to_string(), None)),
                }
            }
        }
        // Is the cache old enough to update?
        let mut update = false;
        if args.bool("update_cache") {
            let valid = args.int("cache_valid_time").unwrap_or(0);
            update = true;
            if valid > 0 {
                let out = ctx.host.exec("echo $(( $(date +%s) - $(stat -c %Y /var/lib/apt/lists 2>/dev/null || echo 0) ))").await?;
                let age: i64 = out.stdout_str().trim().parse().unwrap_or(i64::MAX);
                update = age > valid;
            }
        }
        let mut targets: Vec<String> = vec![];
        if let Some(deb) = args.str("deb") {
            let out = ctx
                .host
                .exec(&format!("dpkg-deb -f {} Package Version", sh_quote(deb)))
                .await?;
            if out.rc != 0 {
                return Err(ModuleError::Failed(format!(
                    "cannot read {deb}: {}",
                    out.stderr_str().trim()
                )));
            }
            let text = out.stdout_str();
            let field = |k: &str| {
                text.lines()
                    .find_map(|l| l.strip_prefix(&format!("{k}: ")).map(str::to_string))
            };
            if let (Some(p), Some(v)) = (field("Package"), field("Version")) {
                names.push((p, Some(v)));
            }
        }
        let installed = installed_versions(ctx, names.iter().map(|(n, _)| n.as_str())).await?;
        let mut verb = "install";
        for (n, pin) in &names {
            let have = installed.get(n);
            match state {
                "absent" => {
                    verb = "remove";
                    if have.is_some() {
                        targets.push(n.clone());
                    }
                }
                "latest" => targets.push(n.clone()),
                _ => match (have, pin) {
                    (Some(h), Some(p))
                        if h == p
                            || h.starts_with(&format!("{p}-"))
                            || p.ends_with('*') && h.starts_with(p.trim_end_matches('*')) => {}
                    (Some(_), None) => {}
                    (_, Some(p)) => targets.push(format!("{n}={p}")),
                    (None, None) => targets.push(n.clone()),
                },
            }
        }
        // An upgrade upgrades everything; named packages are not looked at (as in Ansible).
        let upgrade = upgrade_verb(args.get("upgrade"))?;
        if let Some(u) = upgrade {
            targets.clear();
            verb = u;
        }
        if let Some(deb) = args.str("deb").filter(|_| !targets.is_empty()) {
            // Install the file itself, not the name from a repository.
            targets.retain(|t| {
                !t.starts_with(&format!(
                    "{}=",
                    names.last().map(|n| n.0.as_str()).unwrap_or("")
                ))
            });
            targets.push(if deb.contains('/') {
                deb.to_string()
            } else {
                format!("./{deb}")
            });
        }
        let mut flags = String::new();
        match args.get("install_recommends").and_then(Value::as_bool) {
            Some(true) => flags.push_str(" --install-recommends"),
            Some(false) => flags.push_str(" --no-install-recommends"),
            None => {}
        }
        if let Some(r) = args.str("default_release") {
            flags.push_str(&format!(" -t {}", sh_quote(r)));
        }
        if args.bool("allow_downgrade") {
            flags.push_str(" --allow-downgrades");
        }
        if args.bool("allow_change_held_packages") {
            flags.push_str(" --allow-change-held-packages");
        }
        if verb == "remove" && args.bool("purge") {
            flags.push_str(" --purge");
        }
        if args.bool("autoremove") {
            flags.push_str(" --autoremove");
        }
        let mut changes = vec![];
        let mut command = None;
        let mut simulate = None;
        if !targets.is_empty() || args.bool("autoremove") || upgrade.is_some() {
            let list: Vec<String> = targets.iter().map(|t| sh_quote(t)).collect();
            let base = format!("{}{flags} {verb} {}", apt_get(args), list.join(" "));
            let sim = ctx.host.exec(&format!("{base} -s")).await?;
            let (so, se) = (sim.stdout_str(), sim.stderr_str());
            if sim.rc != 0 {
                let why = apt_error(&se, &so);
                // With a cache update to come, a package may only exist after it.
                if !(update && why.contains("Unable to locate package")) {
                    return Err(ModuleError::Failed(format!(
                        "apt cannot {verb} {}: {why}",
                        targets.join(" ")
                    )));
                }
            }
            changes = parse_simulation(&so);
            if !changes.is_empty() || (update && sim.rc != 0) {
                command = Some(format!("{base} -y"));
            }
            if update && sim.rc != 0 {
                simulate = Some(format!("{base} -s"));
            }
        }
        let mut result = ModuleResult::ok()
            .with("cache_updated", false)
            .with("packages", changes_json(&changes));
        if command.is_none() && !update {
            return Ok(Plan::Done(result));
        }
        result.changed = command.is_some();
        if ctx.diff && !changes.is_empty() {
            let before: String = changes
                .iter()
                .filter_map(|c| c.from.as_ref().map(|f| format!("{} {f}\n", c.package)))
                .collect();
            let after: String = changes
                .iter()
                .filter(|c| c.to.is_some())
                .map(|c| format!("{} {}\n", c.package, c.to.clone().unwrap_or_default()))
                .collect();
            let mut d = FileDiff::new("packages", before, after);
            d.before_header = "packages (installed now)".into();
            d.after_header = "packages (after apt)".into();
            result.diffs.push(d);
        }
        if update {
            result
                .data
                .insert("cache_updated".into(), Value::Bool(true));
        }
        if simulate.is_some() {
            result = result.with_msg(format!(
                "{} would be looked up after apt-get update",
                targets.join(" ")
            ));
        }
        Ok(Plan::change(
            result,
            crate::Work::custom(AptRun {
                update,
                command,
                simulate,
            }),
        ))
    }
}

async fn installed_versions<'a>(
    ctx: &PlanContext<'_>,
    names: impl Iterator<Item = &'a str>,
) -> ModResult<std::collections::HashMap<String, String>> {
    let names: Vec<String> = names.map(sh_quote).collect();
    let mut m = std::collections::HashMap::new();
    if names.is_empty() {
        return Ok(m);
    }
    let out = ctx
        .host
        .exec(&format!(
            "dpkg-query -W -f='${{Package}}\\t${{Status}}\\t${{Version}}\\n' {} 2>/dev/null; true",
            names.join(" ")
        ))
        .await?;
    for line in out.stdout_str().lines() {
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() == 3 && f[1].ends_with(" installed") {
            m.insert(f[0].to_string(), f[2].to_string());
        }
    }
    Ok(m)
}

#[async_trait]
impl Apply for AptRun {
    async fn apply(
        self: Box<Self>,
        ctx: &ApplyContext<'_>,
        args: &Args,
        mut preview: ModuleResult,
    ) -> ModResult<ModuleResult> {
        let w = *self;
        let mut waited = false;
        if w.update {
            let out = ctx.host.exec(&format!("{} update", apt_get(args))).await?;
            let (so, se) = (out.stdout_str(), out.stderr_str());
            waited |= se.contains("Waiting for cache lock");
            if update_failed(out.rc, &so, &se) {
                let missing = ctx.host.exec(MISSING_KEYS).await?.stdout_str();
                let hint = match missing.lines().next() {
                    Some(k) => format!(" (the key file {k} named by signed-by does not exist)"),
                    None => String::new(),
                };
                return Err(ModuleError::Failed(format!(
                    "apt-get update failed{hint}: {}",
                    update_messages(&so, &se)
                )));
            }
            if let Some(sim) = &w.simulate {
                let out = ctx.host.exec(sim).await?;
                if out.rc != 0 {
                    return Err(ModuleError::Failed(format!(
                        "apt cannot install: {}",
                        apt_error(&out.stderr_str(), &out.stdout_str())
                    )));
                }
                preview.data.insert(
                    "packages".into(),
                    changes_json(&parse_simulation(&out.stdout_str())),
                );
                preview.msg = None;
            }
        }
        if let Some(cmd) = &w.command {
            let out = ctx.host.exec(cmd).await?;
            let (so, se) = (out.stdout_str(), out.stderr_str());
            waited |= se.contains("Waiting for cache lock");
            preview = preview
                .with("stdout", so.clone())
                .with("stderr", se.clone());
            if out.rc != 0 {
                let mut r =
                    ModuleResult::failed(format!("apt-get failed: {}", apt_error(&se, &so)));
                r.data = preview.data;
                return Ok(r);
            }
            preview.changed = !so.contains("0 upgraded, 0 newly installed, 0 to remove");
        }
        if waited {
            preview = preview.with("lock_waited", true);
        }
        Ok(preview)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simulation_lines() {
        let out = "NOTE: This is only a simulation!\nInst tmn-base (1.0 local [all])\nInst tmn-app [1.0] (1.1 local [all])\nRemv tmn-extra [1.0]\nConf tmn-base (1.0 local [all])\n";
        let c = parse_simulation(out);
        assert_eq!(c.len(), 3);
        assert_eq!(
            c[0],
            Change {
                action: "install",
                package: "tmn-base".into(),
                from: None,
                to: Some("1.0".into())
            }
        );
        assert_eq!(
            c[1],
            Change {
                action: "upgrade",
                package: "tmn-app".into(),
                from: Some("1.0".into()),
                to: Some("1.1".into())
            }
        );
        assert_eq!(c[2].action, "remove");
    }
}
