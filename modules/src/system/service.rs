//! `service` and `systemd_service` (also `systemd`): a unit's run state, whether it starts
//! at boot, and masking, through systemctl. One `systemctl show` decides; the changes run as
//! one command line in systemd's order (daemon-reload, unmask, enable, start, mask).

use std::collections::BTreeMap;

use async_trait::async_trait;

use super::steps::{add_diffs, state_diff, Steps};
use crate::connection::sh_quote;
use crate::spec::{arg, ArgSpec, ArgType::*, ModuleSpec};
use crate::{Args, ModResult, Module, ModuleError, ModuleResult, Plan, PlanContext};

pub enum ServiceModule {
    /// Ansible's generic `service`.
    Service,
    /// `systemd_service` / `systemd`: adds masking and daemon-reload.
    Systemd,
}

const STATE: ArgSpec = arg(
    "state",
    Str,
    "started/stopped change the unit only when needed; restarted and reloaded always act.",
)
.choices(&["started", "stopped", "restarted", "reloaded"]);
const ENABLED: ArgSpec = arg("enabled", Bool, "Whether the unit starts at boot.");

// On a systemd host Ansible's `service` hands its arguments to the systemd module (without
// the sysvinit-only ones), so it takes systemd_service's arguments too: `service:
// daemon_reload: true` without a name is valid there.
static SERVICE: ModuleSpec = ModuleSpec::new(
    "service",
    "Start, stop, restart or reload a service and choose whether it starts at boot (systemd hosts).",
    &[
        arg("name", Str, "The service, e.g. containerd.").aliases(&["service", "unit"]),
        STATE,
        ENABLED,
        arg("arguments", Str, "Accepted for compatibility; systemd takes none.").aliases(&["args"]),
        arg("pattern", Str, "Accepted for compatibility; systemd knows the unit's state."),
        arg("sleep", Int, "Accepted for compatibility."),
        arg("runlevel", Str, "Accepted for compatibility."),
        arg("use", Str, "The service manager; only 'auto' and 'systemd' are supported.")
            .default("\"auto\""),
        MASKED,
        DAEMON_RELOAD,
        DAEMON_REEXEC,
        SCOPE,
        NO_BLOCK,
        FORCE,
    ],
)
.one_of(ONE_OF);

const MASKED: ArgSpec = arg(
    "masked",
    Bool,
    "Whether the unit is masked (cannot be started at all).",
);
const DAEMON_RELOAD: ArgSpec = arg(
    "daemon_reload",
    Bool,
    "Run systemctl daemon-reload first, to pick up changed unit files.",
)
.default("false")
.aliases(&["daemon-reload"]);
const DAEMON_REEXEC: ArgSpec = arg("daemon_reexec", Bool, "Run systemctl daemon-reexec first.")
    .default("false")
    .aliases(&["daemon-reexec"]);
const SCOPE: ArgSpec = arg(
    "scope",
    Str,
    "The systemd instance; only 'system' is supported.",
)
.default("\"system\"")
.choices(&["system", "user", "global"]);
const NO_BLOCK: ArgSpec = arg(
    "no_block",
    Bool,
    "Do not wait for start/stop jobs to finish.",
)
.default("false");
const FORCE: ArgSpec = arg(
    "force",
    Bool,
    "Override existing symlinks when enabling or masking.",
)
.default("false");
const ONE_OF: &[&[&str]] = &[&[
    "state",
    "enabled",
    "masked",
    "daemon_reload",
    "daemon_reexec",
]];

static SYSTEMD: ModuleSpec = ModuleSpec::new(
    "systemd_service",
    "Manage a systemd unit: run state, start at boot, masking, daemon-reload.",
    &[
        arg("name", Str, "The unit, e.g. kubelet or kubelet.service.")
            .aliases(&["service", "unit"]),
        STATE,
        ENABLED,
        MASKED,
        DAEMON_RELOAD,
        DAEMON_REEXEC,
        SCOPE,
        NO_BLOCK,
        FORCE,
    ],
)
.one_of(ONE_OF)
.also_known_as(&["systemd"]);

const PROPS: &str = "Id,LoadState,ActiveState,SubState,UnitFileState,NeedDaemonReload,Description";

/// Unit-file states in which the unit counts as enabled, or cannot be switched either way.
fn counts_as_enabled(s: &str) -> bool {
    matches!(
        s,
        "enabled" | "enabled-runtime" | "static" | "indirect" | "generated" | "alias" | "linked"
    )
}

fn cannot_toggle(s: &str) -> bool {
    matches!(
        s,
        "static" | "indirect" | "generated" | "alias" | "transient" | ""
    )
}

fn parse_show(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A systemctl command that, when it fails, shows the unit's last log lines with the error.
fn systemctl(verb: &str, unit: &str, flags: &str) -> String {
    let u = sh_quote(unit);
    format!(
        "systemctl {verb}{flags} {u} || {{ rc=$?; journalctl -u {u} -n 10 --no-pager -o cat >&2 2>/dev/null; exit $rc; }}"
    )
}

#[async_trait]
impl Module for ServiceModule {
    fn spec(&self) -> &'static ModuleSpec {
        match self {
            ServiceModule::Service => &SERVICE,
            ServiceModule::Systemd => &SYSTEMD,
        }
    }

    async fn plan(&self, ctx: &PlanContext<'_>, args: &Args) -> ModResult<Plan> {
        let module = self.spec().name;
        let name = args.string("name");
        let state = args.str("state");
        let enabled = args.get("enabled").map(|_| args.bool("enabled"));
        let masked = args.get("masked").map(|_| args.bool("masked"));
        if args.str("scope").is_some_and(|s| s != "system") {
            return Err(ModuleError::Failed(format!(
                "{module}: only scope=system is supported"
            )));
        }
        if args
            .str("use")
            .is_some_and(|u| u != "auto" && u != "systemd")
        {
            return Err(ModuleError::Failed(format!(
                "{module}: use={} is not supported; timonel manages services through systemd",
                args.str("use").unwrap_or_default()
            )));
        }
        let reload_daemon = args.bool("daemon_reload");
        let reexec = args.bool("daemon_reexec");
        let Some(name) = name else {
            if state.is_some() || enabled.is_some() || masked.is_some() {
                return Err(ModuleError::Failed(format!(
                    "{module}: 'name' is required with state, enabled or masked"
                )));
            }
            // Only daemon-reload/-reexec: they run, and (as in Ansible) are no change.
            let mut steps = Steps::default();
            for (on, verb) in [(reexec, "daemon-reexec"), (reload_daemon, "daemon-reload")] {
                if on {
                    steps.run(format!("systemctl {verb}"));
                }
            }
            return Ok(Plan::change(ModuleResult::ok(), crate::Work::Steps(steps)));
        };

        let q = sh_quote(&name);
        let out = ctx
            .host
            .exec_ok(&format!(
                "if [ ! -d /run/systemd/system ]; then echo NOSYSTEMD; cat /proc/1/comm; exit 0; fi; \
                 systemctl show {q} --no-pager --property={PROPS}"
            ))
            .await?;
        let text = out.stdout_str();
        if let Some(init) = text.strip_prefix("NOSYSTEMD\n") {
            return Err(ModuleError::Failed(format!(
                "this host does not run systemd (PID 1 is '{}', there is no /run/systemd/system): \
                 {module} cannot manage '{name}' here",
                init.trim()
            )));
        }
        let props = parse_show(&text);
        let p = |k: &str| props.get(k).map(String::as_str).unwrap_or("");
        let unit = if p("Id").is_empty() {
            name.clone()
        } else {
            p("Id").to_string()
        };
        let unit_file = p("UnitFileState");
        let is_masked = p("LoadState") == "masked" || unit_file == "masked";
        let active = matches!(p("ActiveState"), "active" | "activating" | "reloading");
        let mut result = ModuleResult::ok()
            .with("name", unit.clone())
            .with("status", serde_json::to_value(&props).unwrap_or_default());
        if let Some(s) = state {
            result = result.with("state", s);
        }
        if let Some(e) = enabled {
            result = result.with("enabled", e);
        }

        if p("LoadState") == "not-found" && masked != Some(true) {
            let why = format!(
                "unit '{unit}' not found on this host (systemctl show: LoadState=not-found): is its \
                 package installed, or its unit file written (then add daemon_reload: yes)?"
            );
            // The task that would install it may not have run yet (check mode).
            let mut preview = result.with_msg(why.clone());
            preview.changed = state.is_some() || enabled == Some(true);
            return Ok(Plan::Unknown {
                preview,
                reason: why,
            });
        }
        if is_masked
            && masked != Some(false)
            && (state.is_some_and(|s| s != "stopped") || enabled == Some(true))
        {
            return Err(ModuleError::Failed(format!(
                "unit '{unit}' is masked, so it cannot be started or enabled: add masked: false \
                 (systemd_service) to unmask it"
            )));
        }

        let no_block = if args.bool("no_block") {
            " --no-block"
        } else {
            ""
        };
        let force = if args.bool("force") { " --force" } else { "" };
        let mut steps = Steps::default();
        let mut before = vec![];
        let mut after = vec![];
        let mut changes = |steps: &mut Steps, what: &str, b: &str, a: &str, cmd: String| {
            before.push(format!("{what}: {b}"));
            after.push(format!("{what}: {a}"));
            steps.run(cmd);
        };
        if masked == Some(false) && is_masked {
            changes(
                &mut steps,
                "masked",
                "yes",
                "no",
                systemctl("unmask", &unit, ""),
            );
        }
        match enabled {
            Some(true) if !counts_as_enabled(unit_file) => {
                let now = if unit_file.is_empty() {
                    "no"
                } else {
                    unit_file
                };
                changes(
                    &mut steps,
                    "enabled",
                    now,
                    "enabled",
                    systemctl("enable", &unit, force),
                );
            }
            Some(false) if !cannot_toggle(unit_file) && counts_as_enabled(unit_file) => {
                changes(
                    &mut steps,
                    "enabled",
                    unit_file,
                    "disabled",
                    systemctl("disable", &unit, ""),
                );
            }
            _ => {}
        }
        let now = p("ActiveState");
        match state {
            Some("started") if !active => changes(
                &mut steps,
                "state",
                now,
                "active",
                systemctl("start", &unit, no_block),
            ),
            Some("stopped") if active || now == "deactivating" => changes(
                &mut steps,
                "state",
                now,
                "inactive",
                systemctl("stop", &unit, no_block),
            ),
            Some("restarted") => changes(
                &mut steps,
                "state",
                now,
                "active (restarted)",
                systemctl("restart", &unit, no_block),
            ),
            // Ansible starts a stopped unit that is asked to reload.
            Some("reloaded") => {
                let verb = if active { "reload" } else { "start" };
                changes(
                    &mut steps,
                    "state",
                    now,
                    "active (reloaded)",
                    systemctl(verb, &unit, no_block),
                )
            }
            _ => {}
        }
        if masked == Some(true) && !is_masked {
            changes(
                &mut steps,
                "masked",
                "no",
                "yes",
                systemctl("mask", &unit, force),
            );
        }
        let changed = !steps.is_empty();
        // daemon-reload/-reexec go first and are no change of their own, as in Ansible.
        let mut all = Steps::default();
        for (on, verb) in [(reexec, "daemon-reexec"), (reload_daemon, "daemon-reload")] {
            if on {
                all.run(format!("systemctl {verb}"));
            }
        }
        all.0.extend(steps.0);
        if all.is_empty() {
            return Ok(Plan::Done(result));
        }
        let mut preview = result;
        preview.changed = changed;
        if ctx.diff && changed {
            let label = format!("service {unit}");
            add_diffs(
                &mut preview,
                &[],
                vec![state_diff(&label, &before.join("\n"), &after.join("\n"))],
            );
        }
        Ok(Plan::change(preview, crate::Work::Steps(all)))
    }
}
