//! ini_file (community.general): an option in a section of an INI file, set, added or
//! removed, or a whole section removed. The edit follows community.general's algorithm line
//! for line (where options are inserted, which duplicates go, what `exclusive` removes), so
//! files come out byte for byte as Ansible writes them.

use async_trait::async_trait;
use serde_json::Value;

use super::content::{plan_content, MakeDirFirst};
use crate::connection::sh_quote;
use crate::hostfs::FileKind;
use crate::spec::{arg, ArgType::*, ModuleSpec, ATTR_ARGS, SELINUX_ARGS};
use crate::{
    Args, FileDiff, ModResult, Module, ModuleError, ModuleResult, Plan, PlanContext, Work,
};

pub struct IniFile;

static SPEC: ModuleSpec = ModuleSpec::new(
    "ini_file",
    "Set, add or remove an option in a section of an INI file (community.general.ini_file).",
    &[
        arg("path", Path, "The INI file.")
            .required()
            .aliases(&["dest"]),
        arg(
            "section",
            Str,
            "The section; none for options before the first section.",
        ),
        arg(
            "option",
            Str,
            "The option; without it, state=absent removes the whole section.",
        ),
        arg("value", Str, "The option's value."),
        arg("values", List, "Several values of a repeated option."),
        arg("state", Str, "present or absent.")
            .default("\"present\"")
            .choices(&["absent", "present"]),
        arg(
            "exclusive",
            Bool,
            "Remove the option's other values (present), or all its lines (absent).",
        )
        .default("true"),
        arg(
            "no_extra_spaces",
            Bool,
            "Write option=value without spaces around =.",
        )
        .default("false"),
        arg(
            "ignore_spaces",
            Bool,
            "A line that differs from the wanted one only in spacing is left as it is.",
        )
        .default("false"),
        arg("allow_no_value", Bool, "Allow an option without a value.").default("false"),
        arg(
            "modify_inactive_option",
            Bool,
            "A commented-out option (#, ;) is replaced instead of a new line added.",
        )
        .default("true"),
        arg("create", Bool, "Create the file if it doesn't exist.").default("true"),
        arg(
            "backup",
            Bool,
            "Keep a timestamped copy of the original file.",
        )
        .default("false"),
        arg(
            "follow",
            Bool,
            "Edit the target of a symlink instead of replacing the link.",
        )
        .default("false"),
        arg(
            "section_has_values",
            List,
            "Only a section with these option values matches: a list of {option, value or values}.",
        ),
        arg("attributes", Str, "Not supported by timonel.").aliases(&["attr"]),
        arg("unsafe_writes", Bool, "Accepted; writes are always atomic."),
        ATTR_ARGS[0],
        ATTR_ARGS[1],
        ATTR_ARGS[2],
        SELINUX_ARGS[0],
        SELINUX_ARGS[1],
        SELINUX_ARGS[2],
        SELINUX_ARGS[3],
    ],
)
.exclusive(&[&["value", "values"]])
.also_known_as(&["community.general.ini_file"]);

/// A section condition of `section_has_values`.
#[derive(Debug, Clone)]
struct Condition {
    option: String,
    values: Vec<String>,
}

/// What the edit is asked to do.
#[derive(Debug, Clone)]
struct Want {
    section: Option<String>,
    has_values: Option<Vec<Condition>>,
    option: Option<String>,
    values: Vec<String>,
    present: bool,
    exclusive: bool,
    no_extra_spaces: bool,
    ignore_spaces: bool,
    allow_no_value: bool,
    modify_inactive: bool,
}

/// `str()` of a value as Ansible's str-typed list elements are.
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        other => other.to_string(),
    }
}

/// Matches `option` on a line as community.general's regex does:
/// `[ \t]*([#;]?)[ \t]*OPTION[ \t]*(=|$)[ \t]*(.*)`. Gives (commented out, value).
fn match_opt(option: &str, line: &str, inactive_too: bool) -> Option<(bool, String)> {
    let ws = |s: &str| s.trim_start_matches([' ', '\t']).len();
    let mut rest = &line[line.len() - ws(line)..];
    let mut commented = false;
    if inactive_too && (rest.starts_with('#') || rest.starts_with(';')) {
        commented = true;
        rest = &rest[1..];
        rest = &rest[rest.len() - ws(rest)..];
    }
    rest = rest.strip_prefix(option)?;
    rest = &rest[rest.len() - ws(rest)..];
    if let Some(v) = rest.strip_prefix('=') {
        let v = &v[v.len() - ws(v)..];
        let v = v.split('\n').next().unwrap_or("");
        return Some((commented, v.to_string()));
    }
    // Python's `$`: the end, or just before a final newline.
    (rest.is_empty() || rest == "\n").then(|| (commented, String::new()))
}

/// `^[ \t]*([#;].*)?$`: a blank or comment line.
fn blank_or_comment(line: &str) -> bool {
    let t = line.trim_start_matches([' ', '\t']);
    t.is_empty() || t == "\n" || t.starts_with('#') || t.starts_with(';')
}

/// `^\[\s*SECTION\s*]`.
fn is_section(line: &str, section: &str) -> bool {
    let Some(r) = line.strip_prefix('[') else {
        return false;
    };
    let r = r.trim_start();
    let Some(r) = r.strip_prefix(section.trim()) else {
        return false;
    };
    r.trim_start().starts_with(']')
}

fn has_values(conds: &Option<Vec<Condition>>, lines: &[String]) -> bool {
    let Some(conds) = conds else {
        return true;
    };
    conds.iter().all(|c| {
        lines.iter().any(|l| {
            match_opt(&c.option, l, true)
                .is_some_and(|(_, v)| c.values.is_empty() || c.values.contains(&v))
        })
    })
}

/// community.general's fake section around the file, so options before any section have
/// one too.
const FAKE: &str = "ad01e11446efb704fcdbdb21f2c43757423d91c5";

/// The edited text, whether it changed, and the message (community.general's do_ini).
fn edit(old: &str, w: &Want) -> (String, bool, &'static str) {
    let mut changed = false;
    let mut msg = "OK";
    let mut lines: Vec<String> = old.split_inclusive('\n').map(str::to_string).collect();
    if lines.is_empty() {
        lines.push("\n".into());
    }
    if let Some(last) = lines.last_mut() {
        if !last.ends_with('\n') {
            last.push('\n');
            changed = true;
        }
    }
    lines.insert(0, format!("[{FAKE}]"));
    lines.push("[".into());
    let section = w
        .section
        .clone()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| FAKE.to_string());
    let assign = |o: &str, v: &str| {
        if w.no_extra_spaces {
            format!("{o}={v}\n")
        } else {
            format!("{o} = {v}\n")
        }
    };

    let (mut within, mut start, mut end) = (false, 0, 0);
    for (i, line) in lines.iter().enumerate() {
        if within && line.starts_with('[') {
            if has_values(&w.has_values, &lines[start..i]) {
                end = i;
                break;
            }
            within = false;
            (start, end) = (0, 0);
        }
        if is_section(line, &section) {
            within = true;
            start = i;
        }
    }
    let after = lines.split_off(end);
    let mut sec = lines.split_off(start);
    let before = lines;
    let mut touched = vec![false; sec.len()];
    let mut values = w.values.clone();
    let option = w.option.clone();
    let mut no_value_present = false;
    let inactive = w.modify_inactive;

    // Replaces line `i` with `new`, as update_section_line does.
    let update = |sec: &mut Vec<String>,
                  touched: &mut Vec<bool>,
                  i: usize,
                  new: String,
                  changed: &mut bool,
                  msg: &mut &'static str| {
        let mut differs = None;
        if w.ignore_spaces {
            if let Some((false, old_v)) = match_opt(option.as_deref().unwrap_or(""), &sec[i], true)
            {
                let new_v = match_opt(option.as_deref().unwrap_or(""), &new, true).map(|m| m.1);
                differs = Some(Some(old_v) != new_v);
            }
        }
        let differs = differs.unwrap_or(sec[i] != new);
        if differs {
            sec[i] = new;
            *changed = true;
            *msg = "option changed";
        }
        touched[i] = true;
    };

    if let (true, Some(opt)) = (w.present, option.as_deref()) {
        for i in 0..sec.len() {
            let Some((_, v)) = match_opt(opt, &sec[i], inactive) else {
                continue;
            };
            if !values.is_empty() && values.contains(&v) {
                let new = if v.is_empty() && w.allow_no_value {
                    no_value_present = true;
                    format!("{opt}\n")
                } else {
                    assign(opt, &v)
                };
                update(&mut sec, &mut touched, i, new, &mut changed, &mut msg);
                if let Some(p) = values.iter().position(|x| *x == v) {
                    values.remove(p);
                }
            } else if values.is_empty() && w.allow_no_value {
                update(
                    &mut sec,
                    &mut touched,
                    i,
                    format!("{opt}\n"),
                    &mut changed,
                    &mut msg,
                );
                no_value_present = true;
                break;
            }
        }
    }

    if w.present && w.exclusive && !w.allow_no_value {
        let opt = option.as_deref().unwrap_or("");
        if !values.is_empty() {
            for i in 0..sec.len() {
                if !touched[i] && match_opt(opt, &sec[i], inactive).is_some() {
                    let v = values.remove(0);
                    update(
                        &mut sec,
                        &mut touched,
                        i,
                        assign(opt, &v),
                        &mut changed,
                        &mut msg,
                    );
                    if values.is_empty() {
                        break;
                    }
                }
            }
        }
        for i in (1..sec.len()).rev() {
            if !touched[i] && match_opt(opt, &sec[i], inactive).is_some() {
                sec.remove(i);
                touched.remove(i);
                changed = true;
                msg = "option changed";
            }
        }
    }

    if w.present {
        for i in (1..=sec.len()).rev() {
            if blank_or_comment(&sec[i - 1]) {
                continue;
            }
            if let Some(opt) = option.as_deref() {
                if !values.is_empty() {
                    for v in values.iter().rev() {
                        sec.insert(i, assign(opt, v));
                    }
                    msg = "option added";
                    changed = true;
                } else if w.allow_no_value && !no_value_present {
                    sec.insert(i, format!("{opt}\n"));
                    msg = "option added";
                    changed = true;
                }
            }
            break;
        }
    } else if let Some(opt) = option.as_deref() {
        let keep: Vec<String> = if w.exclusive {
            sec.iter()
                .filter(|l| match_opt(opt, l, false).is_none())
                .cloned()
                .collect()
        } else if !values.is_empty() {
            sec.iter()
                .filter(|l| !match_opt(opt, l, false).is_some_and(|(_, v)| values.contains(&v)))
                .cloned()
                .collect()
        } else {
            sec.clone()
        };
        if keep != sec {
            changed = true;
            msg = "option changed";
            sec = keep;
        }
    } else if !sec.is_empty() {
        sec.clear();
        msg = "section removed";
        changed = true;
    }

    let mut out: Vec<String> = before.into_iter().chain(sec).chain(after).collect();
    out.remove(0);
    out.pop();
    if !within && w.present {
        out.push(format!("[{section}]\n"));
        msg = "section and option added";
        if let Some(conds) = &w.has_values {
            for c in conds {
                if Some(&c.option) != option.as_ref() {
                    if !c.values.is_empty() {
                        out.extend(c.values.iter().map(|v| assign(&c.option, v)));
                    } else if w.allow_no_value {
                        out.push(format!("{}\n", c.option));
                    }
                } else if !w.exclusive {
                    for v in &c.values {
                        if !values.contains(v) {
                            values.push(v.clone());
                        }
                    }
                }
            }
        }
        match option.as_deref() {
            Some(opt) if !values.is_empty() => out.extend(values.iter().map(|v| assign(opt, v))),
            Some(opt) if w.allow_no_value => out.push(format!("{opt}\n")),
            _ => msg = "only section added",
        }
        changed = true;
    }
    (out.concat(), changed, msg)
}

fn want(args: &Args) -> ModResult<Want> {
    let present = args.str("state") != Some("absent");
    let allow_no_value = args.bool("allow_no_value");
    let mut values: Vec<String> = match args.get("value") {
        Some(v) => vec![text(v)],
        None => args
            .list("values")
            .iter()
            .filter(|v| !v.is_null())
            .map(text)
            .collect(),
    };
    if present && !allow_no_value && values.is_empty() {
        return Err(ModuleError::Failed(
            "Parameter 'value(s)' must be defined if state=present and allow_no_value=False."
                .into(),
        ));
    }
    let mut seen = vec![];
    values.retain(|v| {
        let new = !seen.contains(v);
        seen.push(v.clone());
        new
    });
    let has_values = match args.get("section_has_values") {
        Some(Value::Array(items)) => Some(
            items
                .iter()
                .map(|c| {
                    let option = c.get("option").and_then(Value::as_str).ok_or_else(|| {
                        ModuleError::Failed(
                            "section_has_values: each entry needs an 'option'".into(),
                        )
                    })?;
                    let values = match (c.get("value"), c.get("values")) {
                        (Some(v), _) if !v.is_null() => vec![text(v)],
                        (_, Some(Value::Array(vs))) => vs.iter().map(text).collect(),
                        _ => vec![],
                    };
                    Ok(Condition {
                        option: option.to_string(),
                        values,
                    })
                })
                .collect::<ModResult<Vec<_>>>()?,
        ),
        _ => None,
    };
    Ok(Want {
        section: args.string("section"),
        has_values,
        option: args.string("option"),
        values,
        present,
        exclusive: args.bool("exclusive"),
        no_extra_spaces: args.bool("no_extra_spaces"),
        ignore_spaces: args.bool("ignore_spaces"),
        allow_no_value,
        modify_inactive: args.bool("modify_inactive_option"),
    })
}

#[async_trait]
impl Module for IniFile {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn plan(&self, ctx: &PlanContext<'_>, args: &Args) -> ModResult<Plan> {
        let w = want(args)?;
        let path = args.string("path").unwrap_or_default();
        let mut target = path.clone();
        if args.bool("follow") {
            let out = ctx
                .host
                .exec(&format!("readlink -f -- {}", sh_quote(&path)))
                .await?;
            let real = out.stdout_str().trim().to_string();
            if out.rc == 0 && !real.is_empty() {
                target = real;
            }
        }
        let (st, data) = ctx.host.read_stat(&target).await?;
        if st.as_ref().is_some_and(|s| s.kind == FileKind::Directory) {
            return Err(ModuleError::Failed(format!("{target} is a directory")));
        }
        if st.is_none() && !args.bool("create") {
            return Err(ModuleError::Failed(format!(
                "Destination {target} does not exist!"
            )));
        }
        let raw = data.clone().unwrap_or_default();
        // Read as Python's utf-8-sig text: no BOM, universal newlines.
        let text = String::from_utf8_lossy(&raw);
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        let text = text.replace("\r\n", "\n").replace('\r', "\n");
        let (new, changed, msg) = edit(&text, &w);
        let base = |r: ModuleResult| {
            let mut r = r.with("path", path.clone()).with_msg(msg);
            if ctx.diff && changed {
                r.diffs.push(FileDiff::new(
                    &format!("{target} (content)"),
                    text.clone(),
                    new.clone(),
                ));
            }
            r
        };
        // Nothing to write to a missing file (removing from it): it stays missing.
        if !changed && st.is_none() {
            return Ok(Plan::Done(base(ModuleResult::ok())));
        }
        // Unchanged by the edit: the bytes stay as they are (a BOM, CRLF), only attributes
        // may change.
        let bytes = if changed {
            new.clone().into_bytes()
        } else {
            raw
        };
        let parent_missing = st.is_none() && {
            let dir = std::path::Path::new(&target)
                .parent()
                .map(|p| p.to_string_lossy().into_owned())
                .filter(|d| !d.is_empty())
                .unwrap_or_else(|| ".".into());
            ctx.host.stat(&dir, true).await?.is_none()
        };
        let plan = plan_content(
            ctx,
            &target,
            bytes,
            args.attrs(),
            args.bool("backup"),
            Some((st, data)),
        )
        .await?;
        Ok(match plan {
            Plan::Done(_) => Plan::Done(base(ModuleResult::ok())),
            Plan::Change { preview, work } => {
                let mut r = base(ModuleResult::changed());
                if !changed {
                    // Only attributes change: their diff, not an empty content one.
                    r.diffs = preview.diffs;
                }
                let work = if parent_missing {
                    let dir = std::path::Path::new(&target)
                        .parent()
                        .map(|p| p.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    Work::custom(MakeDirFirst { dir, work })
                } else {
                    work
                };
                Plan::change(r, work)
            }
            other => other,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(section: Option<&str>, option: &str, values: &[&str]) -> Want {
        Want {
            section: section.map(str::to_string),
            has_values: None,
            option: Some(option.to_string()),
            values: values.iter().map(|s| s.to_string()).collect(),
            present: true,
            exclusive: true,
            no_extra_spaces: false,
            ignore_spaces: false,
            allow_no_value: false,
            modify_inactive: true,
        }
    }

    #[test]
    fn options_are_set_added_and_sections_appended() {
        let text = "[a]\nx = 1\n\n[b]\ny = 2\n";
        let (out, changed, msg) = edit(text, &w(Some("a"), "x", &["3"]));
        assert_eq!(
            (out.as_str(), changed, msg),
            ("[a]\nx = 3\n\n[b]\ny = 2\n", true, "option changed")
        );
        let (out, _, msg) = edit(text, &w(Some("a"), "z", &["4"]));
        assert_eq!(
            (out.as_str(), msg),
            ("[a]\nx = 1\nz = 4\n\n[b]\ny = 2\n", "option added")
        );
        let (out, _, msg) = edit(text, &w(Some("c"), "k", &["v"]));
        assert_eq!(out, "[a]\nx = 1\n\n[b]\ny = 2\n[c]\nk = v\n");
        assert_eq!(msg, "section and option added");
        let (_, changed, msg) = edit(text, &w(Some("b"), "y", &["2"]));
        assert_eq!((changed, msg), (false, "OK"));
    }

    #[test]
    fn commented_options_are_reused_and_duplicates_removed() {
        let text = "[s]\n# x = 0\nx = 1\nx = 2\n";
        let (out, _, _) = edit(text, &w(Some("s"), "x", &["5"]));
        assert_eq!(out, "[s]\nx = 5\n");
        let mut absent = w(Some("s"), "x", &[]);
        absent.present = false;
        let (out, _, msg) = edit(text, &absent);
        assert_eq!((out.as_str(), msg), ("[s]\n# x = 0\n", "option changed"));
    }

    #[test]
    fn the_option_matcher_follows_the_regex() {
        assert_eq!(match_opt("x", "  ;x=1\n", true), Some((true, "1".into())));
        assert_eq!(match_opt("x", "x\n", true), Some((false, "".into())));
        assert_eq!(match_opt("x", "xy = 1\n", true), None);
        assert_eq!(match_opt("x", "# x = 1\n", false), None);
    }
}
