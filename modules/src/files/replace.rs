use super::edit::{compile, python_replacement, TextEdit};
use crate::spec::{arg, ArgType::*, ModuleSpec, ATTR_ARGS, SELINUX_ARGS};
use crate::Args;

static SPEC: ModuleSpec = ModuleSpec::new(
    "replace",
    "Replace every match of a regular expression in a file.",
    &[
        arg("path", Path, "File to edit.")
            .required()
            .aliases(&["dest", "destfile", "name"]),
        arg(
            "regexp",
            Str,
            "Regular expression (Python syntax, multiline).",
        )
        .required(),
        arg(
            "replace",
            Str,
            "Replacement; \\1 and \\g<name> refer to groups.",
        )
        .default("\"\""),
        arg(
            "after",
            Str,
            "Only replace after the first match of this regexp.",
        ),
        arg(
            "before",
            Str,
            "Only replace before the first match of this regexp.",
        ),
        arg(
            "backup",
            Bool,
            "Keep a timestamped copy of the original file.",
        )
        .default("false"),
        ATTR_ARGS[0],
        ATTR_ARGS[1],
        ATTR_ARGS[2],
        arg(
            "validate",
            Str,
            "A command run on the new content before it replaces the file (%s is the file); the file is left as it was if it fails.",
        ),
        SELINUX_ARGS[0],
        SELINUX_ARGS[1],
        SELINUX_ARGS[2],
        SELINUX_ARGS[3],
    ],
);

fn edit(text: &str, args: &Args) -> Result<(String, &'static str), String> {
    let re = compile(
        &format!("(?m){}", args.str("regexp").unwrap_or("")),
        "regexp",
    )?;
    let mut start = 0;
    let mut end = text.len();
    if let Some(a) = args.str("after") {
        if let Some(m) = compile(&format!("(?ms){a}"), "after")?.find(text) {
            start = m.end();
        }
    }
    if let Some(b) = args.str("before") {
        if let Some(m) = compile(&format!("(?ms){b}"), "before")?.find(&text[start..]) {
            end = start + m.start();
        }
    }
    let rep = python_replacement(args.str("replace").unwrap_or(""));
    let middle = re.replace_all(&text[start..end], rep.as_str());
    let new = format!("{}{}{}", &text[..start], middle, &text[end..]);
    let msg = if new == text { "" } else { "replacements made" };
    Ok((new, msg))
}

pub static REPLACE: TextEdit = TextEdit { spec: &SPEC, edit };
