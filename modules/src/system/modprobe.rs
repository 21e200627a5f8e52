//! `modprobe`: load or unload a kernel module, and keep it loaded at boot
//! (community.general.modprobe).

use async_trait::async_trait;

use super::steps::{add_diffs, state_diff, ConfigFile, Steps};
use crate::connection::sh_quote;
use crate::spec::{arg, ArgType::*, ModuleSpec};
use crate::{Args, ModResult, Module, ModuleError, ModuleResult, Plan, PlanContext};

pub struct Modprobe;

static SPEC: ModuleSpec = ModuleSpec::new(
    "modprobe",
    "Load or unload a kernel module; with persistent: present it is loaded at every boot.",
    &[
        arg("name", Str, "The kernel module, e.g. br_netfilter.").required(),
        arg("state", Str, "Whether the module should be loaded.")
            .default("\"present\"")
            .choices(&["present", "absent"]),
        arg("params", Str, "Module parameters, e.g. 'max_loop=16'.").default("\"\""),
        arg(
            "persistent",
            Str,
            "present: load it at boot (/etc/modules-load.d/NAME.conf, parameters in \
             /etc/modprobe.d/NAME.conf); absent: remove those files; disabled: leave them.",
        )
        .default("\"disabled\"")
        .choices(&["disabled", "absent", "present"]),
    ],
)
.also_known_as(&["community.general.modprobe"]);

#[derive(Debug, PartialEq)]
enum Loaded {
    Yes,
    BuiltIn,
    No,
}

#[async_trait]
impl Module for Modprobe {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn plan(&self, ctx: &PlanContext<'_>, args: &Args) -> ModResult<Plan> {
        let name = args.string("name").unwrap_or_default();
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-".contains(c))
        {
            return Err(ModuleError::Failed(format!(
                "'{name}' is not a kernel module name (letters, digits, '_' and '-')"
            )));
        }
        let want_loaded = args.str("state") != Some("absent");
        let params = args.string("params").unwrap_or_default();
        let params = params.trim();
        // /proc/modules spells '-' as '_'; modules.builtin lists built-in ones, which are
        // always "loaded" and can never be removed.
        let q = sh_quote(&name);
        let script = format!(
            "m=$(printf %s {q} | tr - _); r=$(uname -r); echo \"kernel $r\"; \
             if grep -q \"^$m \" /proc/modules; then echo loaded; \
             elif tr - _ < /lib/modules/$r/modules.builtin 2>/dev/null | grep -q \"/$m.ko\\$\"; then echo builtin; \
             else echo unloaded; fi; \
             modprobe -n -q {q} >/dev/null 2>&1 && echo available || echo unavailable"
        );
        let out = ctx.host.exec_ok(&script).await?;
        let text = out.stdout_str();
        let kernel = text
            .lines()
            .find_map(|l| l.strip_prefix("kernel "))
            .unwrap_or("")
            .to_string();
        let loaded = if text.contains("\nloaded") {
            Loaded::Yes
        } else if text.contains("\nbuiltin") {
            Loaded::BuiltIn
        } else {
            Loaded::No
        };
        let available = text.contains("\navailable");

        let mut files = vec![];
        let persistent = args.str("persistent").unwrap_or("disabled");
        if persistent != "disabled" {
            let mut load =
                ConfigFile::read(ctx, &format!("/etc/modules-load.d/{name}.conf")).await?;
            let mut options =
                ConfigFile::read(ctx, &format!("/etc/modprobe.d/{name}.conf")).await?;
            if persistent == "present" {
                load.after = Some(format!("{name}\n"));
                options.after = (!params.is_empty()).then(|| format!("options {name} {params}\n"));
            } else {
                load.after = None;
                options.after = None;
            }
            files = vec![load, options];
        }

        let mut steps = Steps::default();
        let mut states = vec![];
        let now = |l: &Loaded| {
            if *l == Loaded::No {
                "not loaded"
            } else {
                "loaded"
            }
        };
        if want_loaded && loaded == Loaded::No {
            if !available {
                return Err(ModuleError::Failed(format!(
                    "kernel module '{name}' not found for the running kernel {kernel} \
                     (modprobe -n {name} fails): is the kernel's modules package installed, \
                     and is the name right?"
                )));
            }
            let p: Vec<String> = params.split_whitespace().map(sh_quote).collect();
            steps.run(
                format!("modprobe {q} {}", p.join(" "))
                    .trim_end()
                    .to_string(),
            );
            states.push(state_diff(
                &format!("kernel module {name}"),
                "not loaded",
                "loaded",
            ));
        } else if !want_loaded && loaded == Loaded::BuiltIn {
            return Err(ModuleError::Failed(format!(
                "kernel module '{name}' is built into kernel {kernel} and cannot be unloaded"
            )));
        } else if !want_loaded && loaded == Loaded::Yes {
            steps.run(format!("modprobe -r {q}"));
            states.push(state_diff(
                &format!("kernel module {name}"),
                "loaded",
                "not loaded",
            ));
        }
        let result = ModuleResult::ok()
            .with("name", name.clone())
            .with("params", params)
            .with("state", if want_loaded { "present" } else { "absent" })
            .with("loaded_before", now(&loaded));
        let file_changed = files.iter().any(ConfigFile::changed);
        if steps.is_empty() && !file_changed {
            return Ok(Plan::Done(result));
        }
        let mut preview = result;
        preview.changed = true;
        if ctx.diff {
            add_diffs(&mut preview, &files.iter().collect::<Vec<_>>(), states);
        }
        // Files first, so a module loaded now reads its options from them too.
        let mut all = Steps::default();
        for f in files {
            all.file(f);
        }
        all.0.extend(steps.0);
        Ok(Plan::change(preview, crate::Work::Steps(all)))
    }
}
