use super::edit::{compile, join_lines, lines_keep, python_replacement, TextEdit};
use crate::spec::{arg, ArgType::*, ModuleSpec, ATTR_ARGS, SELINUX_ARGS};
use crate::Args;

static SPEC: ModuleSpec = ModuleSpec::new(
    "lineinfile",
    "Ensure a line is in a file (or absent), replacing the line a regexp matches.",
    &[
        arg("path", Path, "File to edit.")
            .required()
            .aliases(&["dest", "destfile", "name"]),
        arg("line", Str, "The line to insert or replace with.").aliases(&["value"]),
        arg(
            "regexp",
            Str,
            "Regular expression of the line to replace (or remove).",
        )
        .aliases(&["regex"]),
        arg(
            "search_string",
            Str,
            "Literal string of the line to replace (or remove).",
        ),
        arg("state", Str, "Whether the line should be there.")
            .default("\"present\"")
            .choices(&["present", "absent"]),
        arg(
            "insertafter",
            Str,
            "Insert after the last line matching this regexp, or EOF.",
        ),
        arg(
            "insertbefore",
            Str,
            "Insert before the last line matching this regexp, or BOF.",
        ),
        arg("create", Bool, "Create the file if it does not exist.").default("false"),
        arg(
            "backup",
            Bool,
            "Keep a timestamped copy of the original file.",
        )
        .default("false"),
        arg(
            "backrefs",
            Bool,
            "Expand regexp groups in line; do nothing if regexp does not match.",
        )
        .default("false"),
        arg(
            "firstmatch",
            Bool,
            "Use the first match of insertafter/insertbefore/regexp instead of the last.",
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
)
.exclusive(&[
    &["insertafter", "insertbefore"],
    &["regexp", "search_string"],
]);

fn strip_nl(l: &str) -> &str {
    l.trim_end_matches('\n').trim_end_matches('\r')
}

fn edit(text: &str, args: &Args) -> Result<(String, &'static str), String> {
    let mut lines = lines_keep(text);
    let regexp = args
        .str("regexp")
        .map(|r| compile(r, "regexp"))
        .transpose()?;
    let search = args.str("search_string");
    let line = args.str("line");
    let first = args.bool("firstmatch");
    let matches = |l: &str| -> bool {
        let l = strip_nl(l);
        if let Some(re) = &regexp {
            re.is_match(l)
        } else if let Some(s) = search {
            l.contains(s)
        } else {
            Some(l) == line
        }
    };
    if args.str("state") == Some("absent") {
        if regexp.is_none() && search.is_none() && line.is_none() {
            return Err("state=absent needs one of regexp, search_string or line".into());
        }
        let before = lines.len();
        lines.retain(|l| !matches(l));
        let msg = if lines.len() != before {
            "line(s) removed"
        } else {
            ""
        };
        return Ok((join_lines(&lines), msg));
    }
    let Some(line) = line else {
        return Err("state=present needs 'line'".into());
    };
    let found: Vec<usize> = (0..lines.len()).filter(|i| matches(&lines[*i])).collect();
    let hit = if first { found.first() } else { found.last() }.copied();
    if let Some(i) = hit {
        let new_line = match (&regexp, args.bool("backrefs")) {
            // Like Python's match.expand: the line becomes the template with groups filled in.
            (Some(re), true) => {
                let mut out = String::new();
                if let Some(c) = re.captures(strip_nl(&lines[i])) {
                    c.expand(&python_replacement(line), &mut out);
                }
                out
            }
            _ => line.to_string(),
        };
        if strip_nl(&lines[i]) == new_line {
            return Ok((text.to_string(), ""));
        }
        let ending = if lines[i].ends_with('\n') { "\n" } else { "" };
        lines[i] = format!("{new_line}{ending}");
        return Ok((join_lines(&lines), "line replaced"));
    }
    if args.bool("backrefs") {
        return Ok((text.to_string(), ""));
    }
    if (regexp.is_some() || search.is_some()) && lines.iter().any(|l| strip_nl(l) == line) {
        return Ok((text.to_string(), ""));
    }
    let new = format!("{line}\n");
    let pos = if let Some(after) = args.str("insertafter") {
        if after == "EOF" {
            lines.len()
        } else {
            let re = compile(after, "insertafter")?;
            let idx: Vec<usize> = (0..lines.len())
                .filter(|i| re.is_match(strip_nl(&lines[*i])))
                .collect();
            match if first { idx.first() } else { idx.last() } {
                Some(i) => i + 1,
                None => lines.len(),
            }
        }
    } else if let Some(before) = args.str("insertbefore") {
        if before == "BOF" {
            0
        } else {
            let re = compile(before, "insertbefore")?;
            let idx: Vec<usize> = (0..lines.len())
                .filter(|i| re.is_match(strip_nl(&lines[*i])))
                .collect();
            match if first { idx.first() } else { idx.last() } {
                Some(i) => *i,
                None => lines.len(),
            }
        }
    } else {
        lines.len()
    };
    if pos > 0 && !lines[pos - 1].ends_with('\n') {
        lines[pos - 1].push('\n');
    }
    lines.insert(pos, new);
    Ok((join_lines(&lines), "line added"))
}

pub static LINE_IN_FILE: TextEdit = TextEdit { spec: &SPEC, edit };
