//! ufw (community.general): the firewall's state, default policies, logging and rules. What
//! a rule would change is asked of ufw itself (`ufw --dry-run ...`), so check mode matches a
//! real run.

use async_trait::async_trait;

use crate::connection::sh_quote;
use crate::spec::{arg, ArgType::*, ModuleSpec};
use crate::{Args, ModResult, Module, ModuleError, ModuleResult, Plan, PlanContext, Work};

pub struct Ufw;

static SPEC: ModuleSpec = ModuleSpec::new(
    "ufw",
    "Manage the ufw firewall: enabled or not, default policies, logging, rules (community.general.ufw).",
    &[
        arg("state", Str, "enabled, disabled, reloaded or reset.")
            .choices(&["enabled", "disabled", "reloaded", "reset"]),
        arg("default", Str, "Default policy for direction.")
            .choices(&["allow", "deny", "reject"])
            .aliases(&["policy"]),
        arg("direction", Str, "incoming, outgoing or routed (in/out for rules).")
            .choices(&["in", "incoming", "out", "outgoing", "routed"]),
        arg("logging", Str, "Logging level.")
            .choices(&["on", "off", "low", "medium", "high", "full"]),
        arg("rule", Str, "allow, deny, limit or reject.")
            .choices(&["allow", "deny", "limit", "reject"]),
        arg("from_ip", Str, "Source address or network.")
            .default("\"any\"")
            .aliases(&["from", "src"]),
        arg("from_port", Str, "Source port."),
        arg("to_ip", Str, "Destination address or network.")
            .default("\"any\"")
            .aliases(&["dest", "to"]),
        arg("to_port", Str, "Destination port (or range 6000:6007).").aliases(&["port"]),
        arg("proto", Str, "Protocol.")
            .choices(&["any", "tcp", "udp", "ipv6", "esp", "ah", "gre", "igmp", "vrrp"])
            .aliases(&["protocol"]),
        arg("name", Str, "An application profile (ufw app list).").aliases(&["app"]),
        arg("comment", Str, "A comment on the rule."),
        arg("delete", Bool, "Delete the rule instead.").default("false"),
        arg("insert", Int, "Insert the rule at this position."),
        arg("interface", Str, "The interface of the rule.").aliases(&["if"]),
        arg("route", Bool, "A routed (forward) rule.").default("false"),
        arg("log", Bool, "Log packets matching the rule.").default("false"),
    ],
)
.one_of(&[&["state", "default", "logging", "rule"]])
.also_known_as(&["community.general.ufw"]);

/// The rule's arguments to `ufw`, as community.general builds them.
fn rule_args(args: &Args) -> String {
    let mut c = vec![];
    if args.bool("route") {
        c.push("route".to_string());
    }
    if args.bool("delete") {
        c.push("delete".into());
    }
    if let Some(i) = args.int("insert") {
        c.push(format!("insert {i}"));
    }
    c.push(args.string("rule").unwrap_or_default());
    match args.str("direction") {
        Some("in" | "incoming") => c.push("in".into()),
        Some("out" | "outgoing") => c.push("out".into()),
        _ => {}
    }
    if let Some(i) = args.str("interface") {
        c.push(format!("on {}", sh_quote(i)));
    }
    if args.bool("log") {
        c.push("log".into());
    }
    if let Some(p) = args.str("proto").filter(|p| *p != "any") {
        c.push(format!("proto {p}"));
    }
    c.push(format!(
        "from {}",
        sh_quote(args.str("from_ip").unwrap_or("any"))
    ));
    if let Some(p) = args.str("from_port") {
        c.push(format!("port {}", sh_quote(p)));
    }
    c.push(format!(
        "to {}",
        sh_quote(args.str("to_ip").unwrap_or("any"))
    ));
    if let Some(p) = args.str("to_port") {
        c.push(format!("port {}", sh_quote(p)));
    }
    if let Some(n) = args.str("name") {
        c.push(format!("app {}", sh_quote(n)));
    }
    if let Some(m) = args.str("comment") {
        c.push(format!("comment {}", sh_quote(m)));
    }
    c.join(" ")
}

/// The rules of ufw's rule files (or of a dry run, which prints the files it would write):
/// their `### tuple ###` lines, as community.general compares them.
fn tuples(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|l| l.starts_with("### tuple"))
        .collect()
}

/// The default policies of /etc/default/ufw as (direction, policy): `status verbose` only
/// shows them while ufw is active.
fn defaults(conf: &str) -> Vec<(String, String)> {
    conf.lines()
        .filter_map(|l| {
            let (k, v) = l.split_once('=')?;
            let dir = match k.trim() {
                "DEFAULT_INPUT_POLICY" => "incoming",
                "DEFAULT_OUTPUT_POLICY" => "outgoing",
                "DEFAULT_FORWARD_POLICY" => "routed",
                _ => return None,
            };
            let policy = match v.trim().trim_matches('"') {
                "ACCEPT" => "allow",
                "REJECT" => "reject",
                _ => "deny",
            };
            Some((dir.to_string(), policy.to_string()))
        })
        .collect()
}

#[async_trait]
impl Module for Ufw {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn plan(&self, ctx: &PlanContext<'_>, args: &Args) -> ModResult<Plan> {
        if ctx.host.exec("command -v ufw >/dev/null 2>&1").await?.rc != 0 {
            return Err(ModuleError::Failed(
                "ufw is not installed on the host: install it first (apt: name=ufw)".into(),
            ));
        }
        let status = ctx
            .host
            .exec_ok("LC_ALL=C ufw status verbose")
            .await?
            .stdout_str();
        let active = status.contains("Status: active");
        let mut cmds: Vec<String> = vec![];
        if args.get("default").is_some() && args.get("rule").is_some() {
            return Err(ModuleError::Failed(
                "ufw: default and rule can't be given together".into(),
            ));
        }
        if let Some(p) = args.str("default") {
            let dir = match args.str("direction") {
                Some("out" | "outgoing") => "outgoing",
                Some("routed") => "routed",
                _ => "incoming",
            };
            let conf = ctx.host.read("/etc/default/ufw").await?.unwrap_or_default();
            let now = defaults(&String::from_utf8_lossy(&conf));
            if !now.iter().any(|(d, pol)| d == dir && pol == p) {
                cmds.push(format!("ufw default {p} {dir}"));
            }
        }
        if let Some(l) = args.str("logging") {
            let conf = ctx
                .host
                .read("/etc/ufw/ufw.conf")
                .await?
                .unwrap_or_default();
            let conf = String::from_utf8_lossy(&conf);
            let level = conf
                .lines()
                .find_map(|x| x.trim().strip_prefix("LOGLEVEL="))
                .unwrap_or("low")
                .trim()
                .to_string();
            let same = match l {
                "off" => level == "off",
                "on" => level != "off",
                want => level == want,
            };
            if !same {
                cmds.push(format!("ufw logging {l}"));
            }
        }
        if args.get("rule").is_some() {
            let rule = rule_args(args);
            let dry = ctx
                .host
                .exec(&format!("LC_ALL=C ufw --dry-run {rule}"))
                .await?;
            if dry.rc != 0 {
                return Err(ModuleError::Failed(format!(
                    "ufw {rule}: {}",
                    format!("{}{}", dry.stderr_str(), dry.stdout_str()).trim()
                )));
            }
            let now = ctx
                .host
                .exec("cat /etc/ufw/user.rules /etc/ufw/user6.rules 2>/dev/null")
                .await?
                .stdout_str();
            let dry_out = dry.stdout_str();
            // An existing rule is only "Skipping ..."; otherwise the dry run prints the rule
            // files it would write.
            let dry_tuples = tuples(&dry_out);
            let changes = if dry_tuples.is_empty() && dry_out.contains("Skipping") {
                false
            } else {
                tuples(&now) != dry_tuples
            };
            if changes {
                cmds.push(format!("ufw {rule}"));
            }
        }
        match args.str("state") {
            Some("enabled") if !active => cmds.push("ufw --force enable".into()),
            Some("disabled") if active => cmds.push("ufw disable".into()),
            Some("reloaded") if active => cmds.push("ufw reload".into()),
            Some("reset") => cmds.push("ufw --force reset".into()),
            _ => {}
        }
        if cmds.is_empty() {
            return Ok(Plan::Done(ModuleResult::ok()));
        }
        let cmd = cmds.join(" && ");
        let preview = ModuleResult::changed().with("commands", cmds.clone());
        Ok(Plan::change(preview, Work::Shell(cmd)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_and_dry_runs_are_read() {
        let v = "DEFAULT_INPUT_POLICY=\"DROP\"\nDEFAULT_OUTPUT_POLICY=\"ACCEPT\"\n";
        assert!(defaults(v).contains(&("incoming".into(), "deny".into())));
        assert!(defaults(v).contains(&("outgoing".into(), "allow".into())));
        assert_eq!(
            tuples("*filter\n### tuple ### allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in\n-A x\nRules updated\n"),
            vec!["### tuple ### allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in"]
        );
    }
}
