//! `mount`: a mount point in fstab and in the running system (ansible.posix.mount).
//!
//! Swap is a mount too: for `fstype: swap` entries "mounted" means active (swapon) and
//! unmounting or removing one turns it off (swapoff), so one task turns swap off for good:
//! `mount: {path: none, fstype: swap, state: absent}`.

use async_trait::async_trait;

use super::steps::{add_diffs, state_diff, ConfigFile, Steps};
use crate::connection::sh_quote;
use crate::spec::{arg, ArgType::*, ModuleSpec};
use crate::{Args, ModResult, Module, ModuleError, ModuleResult, Plan, PlanContext};

pub struct Mount;

static SPEC: ModuleSpec = ModuleSpec::new(
    "mount",
    "Mount a filesystem or activate swap, and keep it in fstab (or remove it).",
    &[
        arg(
            "path",
            Path,
            "The mount point ('none' or 'swap' for swap entries).",
        )
        .required()
        .aliases(&["name"]),
        arg(
            "src",
            Str,
            "The device, e.g. /dev/sdb1, UUID=..., tmpfs, /swapfile.",
        ),
        arg(
            "fstype",
            Str,
            "The filesystem type, e.g. ext4, tmpfs, swap.",
        ),
        arg("opts", Str, "Mount options.").default("\"defaults\""),
        arg("dump", Str, "fstab's dump field.").default("\"0\""),
        arg("passno", Str, "fstab's pass field.").default("\"0\""),
        arg(
            "state",
            Str,
            "mounted: in fstab and mounted; present: in fstab only; unmounted: not mounted, \
             fstab untouched; absent: unmounted and out of fstab (mount point removed); \
             remounted: remount now; ephemeral: mounted, not in fstab.",
        )
        .required()
        .choices(&[
            "mounted",
            "present",
            "unmounted",
            "absent",
            "remounted",
            "ephemeral",
        ]),
        arg("fstab", Path, "The fstab file.").default("\"/etc/fstab\""),
        arg("boot", Bool, "Mount at boot (no: adds noauto).").default("true"),
    ],
)
.also_known_as(&["ansible.posix.mount"]);

/// fstab and /proc/mounts write spaces and tabs in fields as octal escapes.
fn escape(s: &str) -> String {
    s.replace('\\', "\\134")
        .replace(' ', "\\040")
        .replace('\t', "\\011")
}

fn unescape(s: &str) -> String {
    s.replace("\\040", " ")
        .replace("\\011", "\t")
        .replace("\\134", "\\")
}

#[derive(Debug, Clone, PartialEq)]
struct Entry {
    src: String,
    path: String,
    fstype: String,
    opts: String,
    dump: String,
    passno: String,
}

impl Entry {
    fn parse(line: &str) -> Option<Entry> {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            return None;
        }
        let f: Vec<String> = t.split_whitespace().map(unescape).collect();
        (f.len() >= 3).then(|| Entry {
            src: f[0].clone(),
            path: f[1].clone(),
            fstype: f[2].clone(),
            opts: f.get(3).cloned().unwrap_or_else(|| "defaults".into()),
            dump: f.get(4).cloned().unwrap_or_else(|| "0".into()),
            passno: f.get(5).cloned().unwrap_or_else(|| "0".into()),
        })
    }

    fn line(&self) -> String {
        format!(
            "{} {} {} {} {} {}",
            escape(&self.src),
            escape(&self.path),
            escape(&self.fstype),
            escape(&self.opts),
            self.dump,
            self.passno
        )
    }

    fn is_swap(&self) -> bool {
        self.fstype == "swap"
    }
}

/// Is `e` the entry the task is about? Swap entries all share the mount point 'none' (or
/// 'swap'), so with a `src` given they are told apart by it.
fn matches(e: &Entry, path: &str, src: Option<&str>, swap: bool) -> bool {
    e.path == path && (!swap || !e.is_swap() || src.is_none_or(|s| s == e.src))
}

fn normalise_path(p: &str) -> String {
    let t = p.trim_end_matches('/');
    if t.is_empty() {
        "/".into()
    } else {
        t.into()
    }
}

#[async_trait]
impl Module for Mount {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn plan(&self, ctx: &PlanContext<'_>, args: &Args) -> ModResult<Plan> {
        let path = normalise_path(&args.string("path").unwrap_or_default());
        let state = args.string("state").unwrap_or_default();
        let src = args.string("src");
        let fstype = args.string("fstype");
        let swap = fstype.as_deref() == Some("swap")
            || (matches!(path.as_str(), "none" | "swap") && fstype.is_none());
        if matches!(state.as_str(), "mounted" | "present" | "ephemeral")
            && (src.is_none() || fstype.is_none())
        {
            return Err(ModuleError::Failed(format!(
                "mount {path}: state={state} needs both 'src' and 'fstype'"
            )));
        }
        if !swap && !path.starts_with('/') {
            return Err(ModuleError::Failed(format!(
                "mount: '{path}' is not an absolute path (swap entries use path: none with fstype: swap)"
            )));
        }
        let mut opts = args.string("opts").unwrap_or_else(|| "defaults".into());
        if !args.bool("boot") && !opts.split(',').any(|o| o == "noauto") {
            opts = if opts == "defaults" {
                "noauto".into()
            } else {
                format!("{opts},noauto")
            };
        }
        let wanted = Entry {
            src: src.clone().unwrap_or_default(),
            path: path.clone(),
            fstype: fstype.clone().unwrap_or_default(),
            opts,
            dump: args.string("dump").unwrap_or_else(|| "0".into()),
            passno: args.string("passno").unwrap_or_else(|| "0".into()),
        };

        // fstab: set the entry once (first place it was) or remove every matching one.
        let fstab_path = args.string("fstab").unwrap_or_default();
        let mut fstab = ConfigFile::read(ctx, &fstab_path).await?;
        let mut removed = vec![];
        if matches!(state.as_str(), "mounted" | "present" | "absent") {
            let old = fstab.before.clone().unwrap_or_default();
            let mut out = String::new();
            let mut written = false;
            for line in old.lines() {
                match Entry::parse(line) {
                    Some(e) if matches(&e, &path, src.as_deref(), swap) => {
                        if state != "absent" && !written {
                            // An identical entry keeps its own spelling (spacing, tabs).
                            if e == wanted {
                                out.push_str(line);
                            } else {
                                out.push_str(&wanted.line());
                            }
                            out.push('\n');
                            written = true;
                        } else if state == "absent" {
                            removed.push(e);
                        }
                    }
                    _ => {
                        out.push_str(line);
                        out.push('\n');
                    }
                }
            }
            if state != "absent" && !written {
                out.push_str(&wanted.line());
                out.push('\n');
            }
            if fstab.before.is_some() || !out.is_empty() {
                fstab.after = Some(out);
            }
        }

        // What is mounted and which swap is active, with every device name resolved the way
        // the kernel lists it (UUID=..., LABEL=..., links).
        let mut names: Vec<String> = removed.iter().map(|e| e.src.clone()).collect();
        names.extend(src.clone());
        let resolve: String = names
            .iter()
            .map(|n| {
                let q = sh_quote(n);
                format!("readlink -f -- \"$(findfs {q} 2>/dev/null || printf %s {q})\" || printf '%s\\n' {q}; ")
            })
            .collect();
        let out = ctx
            .host
            .exec_ok(&format!(
                "cat /proc/mounts; echo '--'; cat /proc/swaps 2>/dev/null; echo '--'; {resolve}"
            ))
            .await?;
        let text = out.stdout_str();
        let mut parts = text.split("--\n");
        let mounts: Vec<Entry> = parts
            .next()
            .unwrap_or("")
            .lines()
            .filter_map(Entry::parse)
            .collect();
        let swaps: Vec<String> = parts
            .next()
            .unwrap_or("")
            .lines()
            .skip(1)
            .filter_map(|l| l.split_whitespace().next().map(unescape))
            .collect();
        let resolved: Vec<String> = parts
            .next()
            .unwrap_or("")
            .lines()
            .map(str::to_string)
            .collect();
        let real = |name: &str| {
            names
                .iter()
                .position(|n| n == name)
                .and_then(|i| resolved.get(i).cloned())
                .unwrap_or_else(|| name.to_string())
        };
        let swap_active = |name: &str| swaps.contains(&real(name));
        let mounted = mounts.iter().rev().find(|m| m.path == path);

        let mut steps = Steps::default();
        let mut states = vec![];
        let q = sh_quote(&path);
        let tab = sh_quote(&fstab_path);
        if swap {
            let s = src.clone().unwrap_or_default();
            let mut off: Vec<String> = removed.iter().map(|e| e.src.clone()).collect();
            if state == "unmounted" || state == "absent" {
                off.extend(src.clone());
            }
            off.dedup();
            for dev in off.iter().filter(|d| swap_active(d)) {
                steps.run(format!("swapoff {}", sh_quote(dev)));
                states.push(state_diff(&format!("swap {dev}"), "active", "off"));
            }
            if matches!(state.as_str(), "mounted" | "ephemeral" | "remounted") && !swap_active(&s) {
                steps.run(format!("swapon {}", sh_quote(&s)));
                states.push(state_diff(&format!("swap {s}"), "off", "active"));
            }
        } else {
            let fstab_changed = fstab.changed();
            let here = |m: &Entry| format!("mounted: {} {} {}", m.src, m.fstype, m.opts);
            let there = format!("mounted: {} {} {}", wanted.src, wanted.fstype, wanted.opts);
            match (state.as_str(), mounted) {
                ("mounted", None) => {
                    steps.run(format!("mkdir -p -- {q} && mount -T {tab} -- {q}"));
                    states.push(state_diff(&format!("mount {path}"), "not mounted", &there));
                }
                ("mounted", Some(m)) if fstab_changed => {
                    // Another device or type needs a fresh mount; new options a remount.
                    let same_dev = real(&wanted.src) == m.src || wanted.src == m.src;
                    if same_dev && m.fstype == wanted.fstype {
                        steps.run(format!("mount -T {tab} -o remount -- {q}"));
                    } else {
                        steps.run(format!("umount -- {q} && mount -T {tab} -- {q}"));
                    }
                    states.push(state_diff(&format!("mount {path}"), &here(m), &there));
                }
                ("ephemeral", None) => {
                    steps.run(format!(
                        "mkdir -p -- {q} && mount -t {} -o {} -- {} {q}",
                        sh_quote(&wanted.fstype),
                        sh_quote(&wanted.opts),
                        sh_quote(&wanted.src)
                    ));
                    states.push(state_diff(&format!("mount {path}"), "not mounted", &there));
                }
                ("unmounted" | "absent", Some(m)) => {
                    steps.run(format!("umount -- {q}"));
                    states.push(state_diff(
                        &format!("mount {path}"),
                        &here(m),
                        "not mounted",
                    ));
                }
                ("remounted", Some(_)) => steps.run(format!("mount -o remount -- {q}")),
                ("remounted", None) => {
                    return Err(ModuleError::Failed(format!(
                        "mount {path}: cannot remount, nothing is mounted there"
                    )))
                }
                _ => {}
            }
        }
        let changed = fstab.changed() || !steps.is_empty();
        let result = ModuleResult::ok()
            .with("name", path.clone())
            .with("src", src.clone())
            .with("fstype", fstype.clone())
            .with("opts", wanted.opts.clone())
            .with("fstab", fstab_path.clone());
        if !changed {
            return Ok(Plan::Done(result));
        }
        let mut preview = result;
        preview.changed = true;
        if ctx.diff {
            add_diffs(&mut preview, &[&fstab], states);
        }
        // Unmount and swapoff before the entry leaves fstab; mount after it is written.
        let mut all = Steps::default();
        let removing = state == "absent" || state == "unmounted";
        if removing {
            all.0.append(&mut steps.0);
        }
        all.file(fstab);
        all.0.append(&mut steps.0);
        if state == "absent" && !swap && mounted.is_some() {
            all.run(format!("rmdir -- {q} 2>/dev/null || true"));
        }
        Ok(Plan::change(preview, crate::Work::Steps(all)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fstab_lines_round_trip_with_escapes() {
        let e = Entry::parse("/dev/sdb1  /mnt/my\\040data ext4 defaults,noatime 0 2").unwrap();
        assert_eq!(e.path, "/mnt/my data");
        assert_eq!(
            e.line(),
            "/dev/sdb1 /mnt/my\\040data ext4 defaults,noatime 0 2"
        );
        assert!(Entry::parse("# comment").is_none());
        let swap = Entry::parse("/swapfile none swap sw 0 0").unwrap();
        assert!(matches(&swap, "none", None, true));
        assert!(!matches(&swap, "none", Some("/dev/sdb2"), true));
    }
}
