//! `timonel doc [MODULE]`, generated from the argument specs the modules validate with.

use serde_json::json;

use crate::cli::DocArgs;
use crate::exec::exit;
use timonel_modules::registry;

pub fn run(args: DocArgs) -> i32 {
    let Some(name) = args.module else {
        let mut mods: Vec<_> = registry::all().iter().map(|m| m.spec()).collect();
        mods.sort_by_key(|s| s.name);
        for s in mods {
            crate::outln!("{:<14} {}", s.name, s.description);
        }
        return exit::OK;
    };
    let known = timonel_modules::known::find(&name);
    let Some(s) = registry::find(&name).map(|m| m.spec()).or(known) else {
        let names = registry::all()
            .iter()
            .map(|m| m.spec().name)
            .chain(timonel_modules::known::all().iter().map(|s| s.name));
        let hint = timonel_modules::spec::suggest(&name, names)
            .map(|s| format!(" (did you mean '{s}'?)"))
            .unwrap_or_default();
        eprintln!("error: unknown module '{name}'{hint}; `timonel doc` lists them");
        return exit::BAD_INPUT;
    };
    let implemented = known.is_none() || registry::find(&name).is_some();
    if args.json {
        let a: Vec<_> = s
            .args
            .iter()
            .filter(|a| !a.name.starts_with('_'))
            .map(|a| json!({"name": a.name, "type": a.ty.name(), "required": a.required, "default": a.default.map(|d| serde_json::from_str::<serde_json::Value>(d).unwrap_or_default()), "choices": a.choices, "aliases": a.aliases, "description": a.help}))
            .collect();
        crate::outln!(
            "{}",
            serde_json::to_string_pretty(
                &json!({"module": s.name, "implemented": implemented, "also_known_as": s.also_known_as, "description": s.description, "args": a})
            )
            .unwrap_or_default()
        );
        return exit::OK;
    }
    crate::outln!("{} - {}\n", s.name.to_uppercase(), s.description);
    if !implemented {
        crate::outln!(
            "  Not implemented in timonel: a task using it is checked before the run and fails\n  only if it runs on a host.\n"
        );
    }
    if !s.also_known_as.is_empty() {
        crate::outln!("  Also written as: {}\n", s.also_known_as.join(", "));
    }
    if s.free_form.is_some() {
        crate::outln!(
            "  Takes a free-form command line: `{}: <command> [key=value ...]`\n",
            s.name
        );
    }
    crate::outln!("ARGUMENTS");
    for a in s.args.iter().filter(|a| !a.name.starts_with('_')) {
        let mut meta = vec![a.ty.name().to_string()];
        if a.required {
            meta.push("required".into());
        }
        if let Some(d) = a.default {
            meta.push(format!("default: {d}"));
        }
        if !a.choices.is_empty() {
            meta.push(format!("choices: {}", a.choices.join("|")));
        }
        if !a.aliases.is_empty() {
            meta.push(format!("aliases: {}", a.aliases.join(", ")));
        }
        if a.help.is_empty() {
            crate::outln!("  {:<18} ({})", a.name, meta.join("; "));
        } else {
            crate::outln!(
                "  {:<18} {}\n  {:<18} ({})",
                a.name,
                a.help,
                "",
                meta.join("; ")
            );
        }
    }
    for g in s.required_one_of {
        crate::outln!("\n  One of these is required: {}", g.join(", "));
    }
    for g in s.mutually_exclusive {
        crate::outln!("  Mutually exclusive: {}", g.join(", "));
    }
    if let Some(m) = registry::find(&name) {
        crate::outln!(
            "\n  Check mode: {}",
            if m.supports_check_mode() {
                "supported (reports what would change)"
            } else {
                "skipped (cannot predict the effect)"
            }
        );
    }
    exit::OK
}
