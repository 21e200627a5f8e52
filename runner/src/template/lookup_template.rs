//! `lookup('template', file, ...)` as ansible-core's plugin: the file from the `templates`
//! search path, rendered with the task's variables plus the `template_*` ones,
//! `ansible_managed` (unless set) and `template_vars`, in a syntax the keyword arguments may
//! change (`variable_start_string`, `comment_start_string`, `trim_blocks`, ...). The result is
//! native where the whole file is one expression, and None where it renders nothing.

use minijinja::syntax::SyntaxConfig;
use minijinja::value::Kwargs;
use minijinja::{Environment, Error, ErrorKind, State, Value};

fn err(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

/// The syntax the keyword arguments ask for; `None` when they keep the shared one.
fn syntax(kw: &Kwargs) -> Result<Option<SyntaxConfig>, Error> {
    let s = |k: &str| kw.get::<Option<String>>(k);
    let (vs, ve, bs, be, cs, ce) = (
        s("variable_start_string")?,
        s("variable_end_string")?,
        s("block_start_string")?,
        s("block_end_string")?,
        s("comment_start_string")?,
        s("comment_end_string")?,
    );
    let trim = kw.get::<Option<bool>>("trim_blocks")?;
    if [&vs, &ve, &bs, &be, &cs, &ce].iter().all(|o| o.is_none()) && trim.is_none_or(|t| t) {
        return Ok(None);
    }
    let or = |o: Option<String>, d: &str| o.unwrap_or_else(|| d.to_string());
    SyntaxConfig::builder()
        .variable_delimiters(or(vs, "{{"), or(ve, "}}"))
        .block_delimiters(or(bs, "{%"), or(be, "%}"))
        .comment_delimiters(or(cs, "{#"), or(ce, "#}"))
        .trim_blocks(trim.unwrap_or(true))
        .keep_trailing_newline(true)
        .build()
        .map(Some)
        .map_err(|e| err(format!("lookup('template'): {e}")))
}

/// Each term's template rendered.
pub fn render_all(state: &State, terms: &[Value], kw: &Kwargs) -> Result<Vec<Value>, Error> {
    let syntax = syntax(kw)?;
    let extra = kw.get::<Option<Value>>("template_vars")?;
    // Deprecated options ansible-core still accepts (its native mode is the only one).
    for old in ["convert_data", "jinja2_native"] {
        let _ = kw.get::<Option<Value>>(old)?;
    }
    let mut out = vec![];
    for t in terms {
        let name = t.as_str().map_or_else(|| t.to_string(), str::to_string);
        let path = super::lookups::resolve(state, &name, "templates");
        if !path.is_file() {
            return Err(err(format!(
                "the template file {name} could not be found for the lookup"
            )));
        }
        let src = crate::limits::read_to_string(&path).map_err(|e| {
            err(format!(
                "lookup('template'): cannot read {}: {e}",
                path.display()
            ))
        })?;
        let mut vars = super::template_vars(&path, &state.lookup("vars").unwrap_or_default());
        if let Some(x) = &extra {
            // The last map that has a key wins: template_vars over the task's.
            vars = minijinja::value::merge_maps([vars, x.clone()]);
        }
        out.push(render_one(state.env(), syntax.as_ref(), &path, &src, vars)?);
    }
    Ok(out)
}

fn render_one<'e>(
    shared: &Environment<'e>,
    syntax: Option<&SyntaxConfig>,
    path: &std::path::Path,
    src: &str,
    vars: Value,
) -> Result<Value, Error> {
    let mut own = None;
    if super::loader::needs_loader(src) {
        own = Some(super::loader::with_loader(
            shared,
            super::loader::search_path(&vars, Some(path)),
        ));
    }
    if let Some(s) = syntax {
        own.get_or_insert_with(|| shared.clone())
            .set_syntax(s.clone());
    }
    let env = own.as_ref().unwrap_or(shared);
    // One expression and nothing else (but the file's last newline) is a native value.
    let body = src.strip_suffix('\n').unwrap_or(src);
    if syntax.is_none() {
        if let Some(expr) = super::single_expression(body) {
            let v = env
                .compile_expression(&super::escapes::literal_backslashes(expr, true))?
                .eval(vars)?;
            return Ok(v);
        }
    }
    let text = env
        .template_from_str(&super::escapes::literal_backslashes(src, false))?
        .render(vars)?;
    if text.len() > crate::limits::TEMPLATE_OUTPUT.get() {
        return Err(err(format!(
            "lookup('template'): {} renders to more than {} bytes; {}",
            path.display(),
            crate::limits::TEMPLATE_OUTPUT.get(),
            crate::limits::TEMPLATE_OUTPUT.explain()
        )));
    }
    // Nothing rendered (a file of comments) is None, as in ansible-core.
    if text.trim_end_matches('\n').is_empty() {
        return Ok(Value::from(()));
    }
    Ok(Value::from(text))
}
