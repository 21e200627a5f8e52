//! `sysctl`: a kernel parameter in a sysctl file and, by default, in the running kernel
//! (ansible.posix.sysctl).

use async_trait::async_trait;

use super::steps::{add_diffs, state_diff, ConfigFile, Steps};
use crate::connection::sh_quote;
use crate::spec::{arg, ArgType::*, ModuleSpec};
use crate::{Args, ModResult, Module, ModuleError, ModuleResult, Plan, PlanContext};

pub struct Sysctl;

static SPEC: ModuleSpec = ModuleSpec::new(
    "sysctl",
    "Set a kernel parameter in a sysctl file and, by default, in the running kernel.",
    &[
        arg("name", Str, "The key, e.g. net.ipv4.ip_forward.")
            .required()
            .aliases(&["key"]),
        arg(
            "value",
            Str,
            "The value; yes/no become 1/0. Required with state=present.",
        )
        .aliases(&["val"]),
        arg("state", Str, "Whether the key should be in the file.")
            .default("\"present\"")
            .choices(&["present", "absent"]),
        arg("sysctl_file", Path, "The file that holds the key.").default("\"/etc/sysctl.conf\""),
        arg(
            "reload",
            Bool,
            "When the file changed or the running value differs, load the file (sysctl -p FILE).",
        )
        .default("true"),
        arg(
            "sysctl_set",
            Bool,
            "Also set the running value with sysctl -w when it differs.",
        )
        .default("false"),
        arg(
            "ignoreerrors",
            Bool,
            "Ignore unknown keys when loading the file (sysctl -e).",
        )
        .default("false"),
    ],
)
.also_known_as(&["ansible.posix.sysctl"]);

/// Ansible's spelling of values: booleans become 1/0, surrounding space goes.
fn normalise_value(v: &str) -> String {
    match v.trim().to_ascii_lowercase().as_str() {
        "yes" | "on" | "true" => "1".into(),
        "no" | "off" | "false" => "0".into(),
        _ => v.trim().to_string(),
    }
}

/// Values compare as the kernel prints them: whitespace-separated words.
fn same_value(a: &str, b: &str) -> bool {
    a.split_whitespace().eq(b.split_whitespace())
}

/// `net.ipv4.ip_forward` and `net/ipv4/ip_forward` name the same key.
fn same_key(a: &str, b: &str) -> bool {
    a.trim().replace('/', ".") == b.trim().replace('/', ".")
}

/// The file with the key set once (first place it was, duplicates dropped) or removed. A
/// line that already holds the value keeps its spelling (`key = value`, as Debian writes).
fn rewrite(text: &str, key: &str, value: Option<&str>) -> String {
    let mut out = String::new();
    let mut written = false;
    for line in text.lines() {
        let t = line.trim_start();
        let is_key = !t.starts_with('#')
            && !t.starts_with(';')
            && t.split_once('=').is_some_and(|(k, _)| same_key(k, key));
        let holds = |v: &str| t.split_once('=').is_some_and(|(_, old)| same_value(old, v));
        if !is_key {
            out.push_str(line);
            out.push('\n');
        } else if let (Some(v), false) = (value, written) {
            if holds(v) {
                out.push_str(line);
                out.push('\n');
                written = true;
                continue;
            }
            out.push_str(&format!("{key}={v}\n"));
            written = true;
        }
    }
    if let (Some(v), false) = (value, written) {
        out.push_str(&format!("{key}={v}\n"));
    }
    out
}

/// The value of `key` in the file, if any (the last assignment wins, as for sysctl -p).
fn file_value(text: &str, key: &str) -> Option<String> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with(['#', ';']))
        .filter_map(|l| l.split_once('='))
        .filter(|(k, _)| same_key(k, key))
        .map(|(_, v)| v.trim().to_string())
        .next_back()
}

#[async_trait]
impl Module for Sysctl {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn plan(&self, ctx: &PlanContext<'_>, args: &Args) -> ModResult<Plan> {
        let key = args.string("name").unwrap_or_default().trim().to_string();
        let present = args.str("state") != Some("absent");
        let value = match args.str("value") {
            Some(v) => Some(normalise_value(v)),
            None if present => {
                return Err(ModuleError::Failed(format!(
                    "sysctl {key}: 'value' is required with state=present"
                )))
            }
            None => None,
        };
        let path = args.string("sysctl_file").unwrap_or_default();
        let (reload, set) = (args.bool("reload"), args.bool("sysctl_set"));
        let mut file = ConfigFile::read(ctx, &path).await?;
        let old = file.before.clone().unwrap_or_default();
        let new = rewrite(&old, &key, value.as_deref().filter(|_| present));
        if file.before.is_some() || !new.is_empty() {
            file.after = Some(new);
        }

        let proc_path = format!("/proc/sys/{}", key.replace('.', "/"));
        let mut running = None;
        let mut note = None;
        if present && (reload || set) {
            let out = ctx
                .host
                .exec(&format!("cat {}", sh_quote(&proc_path)))
                .await?;
            if out.rc == 0 {
                running = Some(out.stdout_str().trim().to_string());
            } else if !args.bool("ignoreerrors") {
                let why = format!(
                    "sysctl key '{key}' does not exist in the running kernel (no {proc_path}): load \
                     the kernel module that provides it first (modprobe br_netfilter for \
                     net.bridge.*), or set reload: false to only write {path}"
                );
                // An earlier modprobe may not have run yet (check mode): known after apply.
                note = Some(why);
            }
        }
        let want = value.clone().unwrap_or_default();
        // With ignoreerrors, a key the running kernel lacks can't be set: only the file counts
        // (else every run would report a change).
        let kernel_differs = present
            && (reload || set)
            && match running.as_deref() {
                Some(r) => !same_value(r, &want),
                None => !args.bool("ignoreerrors"),
            };

        let result = ModuleResult::ok()
            .with("name", key.clone())
            .with("value", value.clone())
            .with("sysctl_file", path.clone())
            .with(
                "file_value",
                file.before.as_deref().and_then(|t| file_value(t, &key)),
            )
            .with("running_value", running.clone());
        if !file.changed() && !kernel_differs && note.is_none() {
            return Ok(Plan::Done(result));
        }
        let mut preview = result;
        preview.changed = true;
        preview.msg = note.clone();
        if ctx.diff {
            let states = match (&running, kernel_differs) {
                (Some(r), true) => vec![state_diff(&format!("running kernel: {key}"), r, &want)],
                _ => vec![],
            };
            add_diffs(&mut preview, &[&file], states);
        }
        let mut steps = Steps::default();
        steps.file(file);
        if set && kernel_differs {
            steps.run(format!("sysctl -w {}", sh_quote(&format!("{key}={want}"))));
        }
        if reload {
            let e = if args.bool("ignoreerrors") { "-e " } else { "" };
            steps.run(format!("sysctl {e}-p {} >/dev/null", sh_quote(&path)));
        }
        Ok(match note {
            Some(reason) => Plan::Unknown { preview, reason },
            None => Plan::change(preview, crate::Work::Steps(steps)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrite_sets_once_keeps_comments_and_drops_duplicates() {
        let text = "# keep\nnet.ipv4.ip_forward = 0\nvm.swappiness=10\nnet.ipv4.ip_forward=0\n";
        assert_eq!(
            rewrite(text, "net.ipv4.ip_forward", Some("1")),
            "# keep\nnet.ipv4.ip_forward=1\nvm.swappiness=10\n"
        );
        assert_eq!(
            rewrite(text, "net.ipv4.ip_forward", None),
            "# keep\nvm.swappiness=10\n"
        );
        assert_eq!(rewrite("", "a.b", Some("1")), "a.b=1\n");
        assert_eq!(rewrite("a.b = 1\n", "a.b", Some("1")), "a.b = 1\n");
        assert_eq!(
            file_value(text, "net/ipv4/ip_forward").as_deref(),
            Some("0")
        );
    }

    #[test]
    fn values_compare_like_the_kernel_prints_them() {
        assert_eq!(normalise_value(" yes "), "1");
        assert!(same_value("4096\t87380 6291456", "4096 87380  6291456"));
        assert!(!same_value("1", "0"));
    }
}
