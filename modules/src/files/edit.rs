//! Shared plumbing for modules that edit a text file in place (lineinfile, blockinfile, replace).

use async_trait::async_trait;

use super::content::{plan_content, with_validate};
use crate::spec::ModuleSpec;
use crate::{Args, ModResult, Module, ModuleError, ModuleResult, Plan, PlanContext};

/// The new text and a message for the result ("" when nothing changed).
pub type Edit = fn(&str, &Args) -> Result<(String, &'static str), String>;

/// A module that edits a text file in place: its spec and a pure function from the old
/// text to the new. Reading, diffing, check mode and the atomic write are shared.
pub struct TextEdit {
    pub spec: &'static ModuleSpec,
    pub edit: Edit,
}

#[async_trait]
impl Module for TextEdit {
    fn spec(&self) -> &'static ModuleSpec {
        self.spec
    }

    async fn plan(&self, ctx: &PlanContext<'_>, args: &Args) -> ModResult<Plan> {
        let path = args.string("path").unwrap_or_default();
        let edit = self.edit;
        // `create` is false for modules that do not take it (replace).
        plan_edit(ctx, self.spec.name, args, &path, args.bool("create"), |t| {
            edit(t, args)
        })
        .await
    }
}

/// Reads `path`, lets `edit` compute the new text, and plans writing it.
pub async fn plan_edit<F>(
    ctx: &PlanContext<'_>,
    module: &str,
    args: &Args,
    path: &str,
    create: bool,
    edit: F,
) -> ModResult<Plan>
where
    F: FnOnce(&str) -> Result<(String, &'static str), String>,
{
    let (st, old) = ctx.host.read_stat(path).await?;
    if st
        .as_ref()
        .is_some_and(|s| s.kind == crate::hostfs::FileKind::Directory)
    {
        return Err(ModuleError::Failed(format!("Path {path} is a directory !")));
    }
    let existed = st.is_some();
    let old = match old {
        Some(o) => o,
        None if create => Vec::new(),
        // Ansible's messages: lineinfile names the "Destination", the others the "Path".
        None => {
            let what = if module == "lineinfile" {
                "Destination"
            } else {
                "Path"
            };
            // replace has no `create` to suggest.
            let help = if module == "replace" {
                ""
            } else {
                " (use create: true to create it)"
            };
            return Err(ModuleError::Failed(format!(
                "{what} {path} does not exist !{help}"
            )));
        }
    };
    let text = String::from_utf8(old.clone())
        .map_err(|_| ModuleError::Failed(format!("{path} is not a text file")))?;
    let (new, msg) = edit(&text).map_err(ModuleError::Failed)?;
    if !existed && new.is_empty() {
        return Ok(Plan::Done(ModuleResult::ok()));
    }
    let plan = plan_content(
        ctx,
        path,
        new.into_bytes(),
        args.attrs(),
        args.bool("backup"),
        Some((st, Some(old))),
    )
    .await?;
    let plan = with_validate(plan, args.str("validate"))?;
    Ok(match plan {
        Plan::Change { preview, work } => {
            let msg = if msg.is_empty() {
                "attributes changed"
            } else {
                msg
            };
            Plan::Change {
                preview: preview.with_msg(msg),
                work,
            }
        }
        done => done,
    })
}

/// Splits text into lines that keep their line endings.
pub fn lines_keep(text: &str) -> Vec<String> {
    text.split_inclusive('\n').map(str::to_string).collect()
}

/// Joins lines, making sure every line but the last ends with a newline.
pub fn join_lines(lines: &[String]) -> String {
    let mut s = String::new();
    for l in lines {
        if !s.is_empty() && !s.ends_with('\n') {
            s.push('\n');
        }
        s.push_str(l);
    }
    s
}

/// Translates a Python `re` replacement (`\1`, `\g<name>`) into the regex crate's syntax.
pub fn python_replacement(rep: &str) -> String {
    let mut out = String::new();
    let mut chars = rep.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '$' => out.push_str("$$"),
            '\\' => match chars.peek().copied() {
                Some(d) if d.is_ascii_digit() => {
                    let mut n = String::new();
                    while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                        n.push(d);
                        chars.next();
                    }
                    out.push_str(&format!("${{{n}}}"));
                }
                Some('g') => {
                    chars.next();
                    if chars.peek() == Some(&'<') {
                        chars.next();
                        let name: String = chars.by_ref().take_while(|c| *c != '>').collect();
                        out.push_str(&format!("${{{name}}}"));
                    } else {
                        out.push_str("\\g");
                    }
                }
                Some('n') => {
                    chars.next();
                    out.push('\n');
                }
                Some('t') => {
                    chars.next();
                    out.push('\t');
                }
                Some('\\') => {
                    chars.next();
                    out.push('\\');
                }
                _ => out.push('\\'),
            },
            c => out.push(c),
        }
    }
    out
}

/// A regexp argument, read as Python's `re` reads it (backreferences, lookaround).
pub fn compile(re: &str, what: &str) -> Result<crate::pyre::Regex, String> {
    crate::pyre::Regex::new(re).map_err(|e| format!("invalid regular expression in '{what}': {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn replacement_syntax() {
        assert_eq!(python_replacement(r"\1-\g<name>$"), "${1}-${name}$$");
    }
}
