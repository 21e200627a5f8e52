use super::edit::{compile, join_lines, lines_keep, TextEdit};
use crate::spec::{arg, ArgType::*, ModuleSpec, ATTR_ARGS, SELINUX_ARGS};
use crate::Args;

static SPEC: ModuleSpec = ModuleSpec::new(
    "blockinfile",
    "Insert, update or remove a block of lines between marker lines.",
    &[
        arg("path", Path, "File to edit.")
            .required()
            .aliases(&["dest", "destfile", "name"]),
        arg("block", Str, "The text between the markers.")
            .default("\"\"")
            .aliases(&["content"]),
        arg(
            "marker",
            Str,
            "Marker line template; {mark} becomes marker_begin or marker_end.",
        )
        .default("\"# {mark} ANSIBLE MANAGED BLOCK\""),
        arg(
            "marker_begin",
            Str,
            "Replaces {mark} in the opening marker.",
        )
        .default("\"BEGIN\""),
        arg("marker_end", Str, "Replaces {mark} in the closing marker.").default("\"END\""),
        arg("state", Str, "Whether the block should be there.")
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
            "prepend_newline",
            Bool,
            "Put a blank line before the block unless it starts the file or follows one.",
        )
        .default("false"),
        arg(
            "append_newline",
            Bool,
            "Put a blank line after the block unless it ends the file or one follows.",
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
.exclusive(&[&["insertafter", "insertbefore"]]);

fn edit(text: &str, args: &Args) -> Result<(String, &'static str), String> {
    let marker = args
        .str("marker")
        .unwrap_or("# {mark} ANSIBLE MANAGED BLOCK");
    let begin = marker.replace("{mark}", args.str("marker_begin").unwrap_or("BEGIN"));
    let end = marker.replace("{mark}", args.str("marker_end").unwrap_or("END"));
    let mut lines = lines_keep(text);
    let trimmed = |l: &String| l.trim_end_matches(['\n', '\r']).to_string();
    let b = lines.iter().position(|l| trimmed(l) == begin);
    let e = lines.iter().rposition(|l| trimmed(l) == end);
    let block = args.str("block").unwrap_or("");
    let mut new_block = Vec::new();
    if args.str("state") != Some("absent") && !block.is_empty() {
        new_block.push(format!("{begin}\n"));
        for l in block.trim_end_matches('\n').split('\n') {
            new_block.push(format!("{l}\n"));
        }
        new_block.push(format!("{end}\n"));
    }
    let pos = match (b, e) {
        (Some(b), Some(e)) if b <= e => {
            lines.drain(b..=e);
            b
        }
        _ if new_block.is_empty() => return Ok((text.to_string(), "")),
        _ => {
            let find = |re: &str, what: &str, after: bool| -> Result<usize, String> {
                let re = compile(re, what)?;
                Ok(match lines.iter().rposition(|l| re.is_match(&trimmed(l))) {
                    Some(i) => i + usize::from(after),
                    None => lines.len(),
                })
            };
            match (args.str("insertafter"), args.str("insertbefore")) {
                (Some(a), _) if a != "EOF" => find(a, "insertafter", true)?,
                (_, Some("BOF")) => 0,
                (_, Some(bf)) => find(bf, "insertbefore", false)?,
                _ => lines.len(),
            }
        }
    };
    if pos > 0 && pos <= lines.len() && !lines[pos - 1].ends_with('\n') {
        lines[pos - 1].push('\n');
    }
    let removed = new_block.is_empty();
    let present = args.str("state") != Some("absent");
    let mut pos = pos;
    if present && args.bool("prepend_newline") && pos != 0 && lines[pos - 1] != "\n" {
        lines.insert(pos, "\n".into());
        pos += 1;
    }
    let after = pos + new_block.len();
    for (i, l) in new_block.into_iter().enumerate() {
        lines.insert(pos + i, l);
    }
    if present && args.bool("append_newline") && after < lines.len() && lines[after] != "\n" {
        lines.insert(after, "\n".into());
    }
    let new = join_lines(&lines);
    let msg = if new == text {
        ""
    } else if removed {
        "Block removed"
    } else {
        "Block inserted"
    };
    Ok((new, msg))
}

pub static BLOCK_IN_FILE: TextEdit = TextEdit { spec: &SPEC, edit };
