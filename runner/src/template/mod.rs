//! Jinja templating with Ansible's semantics: lazily templated variables, native types for
//! whole-expression strings (`"{{ items }}"` is a list), `x | default(...)` on undefined
//! chains, and undefined variables reported by name.

mod data_filters;
mod escapes;
mod filters;
pub mod first_found;
mod fqcn;
mod ip_tests;
mod ipaddr;
mod lazy;
mod loader;
mod lookup_sequence;
mod lookup_subelements;
mod lookup_template;
mod lookups;
mod lookups_more;
mod password;
mod py_random;
mod tests;
mod text_filters;
pub mod yaml_out;

use std::sync::Arc;

use minijinja::value::{Serde, ValueKind};
use minijinja::{Environment, ErrorKind, UndefinedBehavior, Value};
use serde_json::{Map, Value as Json};

pub use lazy::{mark_data, LazyVars};
pub use lookup_subelements::subelements;

/// Marker Ansible's `omit` variable holds: an argument equal to it is dropped.
pub const OMIT: &str = "__omit_place_holder__timonel";

#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct TemplateError(pub String);

/// Details of undefined errors that say nothing more than the error itself.
const GENERIC_UNDEFINED: [&str; 2] = ["undefined value printed", "mandatory variable not defined"];

/// How `Templar::undefined_error` begins its messages.
const UNDEFINED_PREFIXES: [&str; 2] = ["undefined variable ", "an undefined attribute or key "];

impl TemplateError {
    /// Whether the template failed on an undefined variable or attribute (Ansible's
    /// AnsibleUndefinedVariable), not on anything else.
    pub fn is_undefined(&self) -> bool {
        UNDEFINED_PREFIXES.iter().any(|p| self.0.starts_with(p))
            || (self.0.starts_with('\'') && self.0.contains("' has no attribute '"))
    }
}

/// The shared Jinja environment.
pub struct Templar {
    env: Environment<'static>,
}

fn strict_formatter(
    out: &mut minijinja::Output,
    state: &mut minijinja::State,
    v: &Value,
) -> Result<(), minijinja::Error> {
    if v.is_undefined() {
        return Err(minijinja::Error::new(
            ErrorKind::UndefinedError,
            "undefined value printed",
        ));
    }
    if v.is_none() {
        return out.write_str("None").map_err(minijinja::Error::from);
    }
    if let Some(b) = bool::try_from(v.clone())
        .ok()
        .filter(|_| v.kind() == minijinja::value::ValueKind::Bool)
    {
        return out
            .write_str(if b { "True" } else { "False" })
            .map_err(minijinja::Error::from);
    }
    // Lists and dicts print as Python's repr, as they do in Ansible.
    if matches!(v.kind(), ValueKind::Seq | ValueKind::Map) {
        let j = to_json(v)?;
        return out
            .write_str(&crate::pyfmt::repr(&j))
            .map_err(minijinja::Error::from);
    }
    minijinja::escape_formatter(out, state, v)
}

impl Templar {
    pub fn new() -> Arc<Templar> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Chainable);
        // Ansible's Jinja settings: blocks eat their newline, files keep their last one.
        env.set_syntax(
            minijinja::syntax::SyntaxConfig::builder()
                .trim_blocks(true)
                .keep_trailing_newline(true)
                .build()
                .expect("default delimiters are valid"),
        );
        env.set_formatter(strict_formatter);
        env.set_unknown_method_callback(python_methods);
        env.set_recursion_limit(200);
        filters::register(&mut env);
        text_filters::register(&mut env);
        data_filters::register(&mut env);
        ipaddr::register(&mut env);
        tests::register(&mut env);
        lookups::register(&mut env);
        fqcn::jinja_aliases(&mut env);
        Arc::new(Templar { env })
    }

    /// Renders every string in a JSON value.
    pub fn render_value(&self, v: &Json, ctx: &Value) -> Result<Json, TemplateError> {
        match v {
            Json::String(s) => self.render_string(s, ctx),
            Json::Array(a) => a
                .iter()
                .map(|x| self.render_value(x, ctx))
                .collect::<Result<Vec<_>, _>>()
                .map(Json::Array),
            Json::Object(m) => {
                let mut out = Map::new();
                for (k, x) in m {
                    let k = if is_template(k) {
                        json_text(&self.render_string(k, ctx)?)
                    } else {
                        k.clone()
                    };
                    out.insert(k, self.render_value(x, ctx)?);
                }
                Ok(Json::Object(out))
            }
            other => Ok(other.clone()),
        }
    }

    pub fn render_string(&self, s: &str, ctx: &Value) -> Result<Json, TemplateError> {
        if !is_template(s) {
            return Ok(Json::String(s.to_string()));
        }
        // Jinja drops one trailing newline before rendering; a lone expression is then still
        // native (`a: >` folded "{{ [1] }}\n" is a list), and a string gets it back.
        let (body, newline) = match s.strip_suffix("\r\n").or_else(|| s.strip_suffix('\n')) {
            Some(b) => (b, &s[b.len()..]),
            None => (s, ""),
        };
        if let Some(expr) = single_expression(body) {
            return self.eval_expr(expr, ctx).and_then(|v| {
                let v = match v.as_str() {
                    Some(t) if !newline.is_empty() => Value::from(format!("{t}{newline}")),
                    _ => v,
                };
                if v.is_undefined() {
                    Err(self.undefined_error(s, ctx))
                } else if v
                    .as_str()
                    .is_some_and(|t| t.len() > crate::limits::TEMPLATE_OUTPUT.get())
                {
                    Err(too_large(s))
                } else {
                    let j = to_json(&v).map_err(|e| TemplateError(format!("{e} in '{s}'")))?;
                    if larger_than(&j, crate::limits::TEMPLATE_OUTPUT.get()) {
                        return Err(too_large(s));
                    }
                    Ok(j)
                }
            });
        }
        self.render_text(s, ctx).map(Json::String)
    }

    /// Renders a template to text (multi-part strings), stopping at
    /// `limits::TEMPLATE_OUTPUT` bytes: a loop can't fill the memory with its output.
    pub fn render_text(&self, s: &str, ctx: &Value) -> Result<String, TemplateError> {
        self.render_in(s, ctx, None)
    }

    /// Renders a template file's text (the template module): includes are also looked for
    /// next to it, and Ansible's `template_*` variables and `ansible_managed` are set.
    pub fn render_file(&self, s: &str, path: &str, ctx: &Value) -> Result<String, TemplateError> {
        let path = std::path::Path::new(path);
        let ctx = template_vars(path, ctx);
        self.render_in(s, &ctx, Some(path))
    }

    fn render_in(
        &self,
        s: &str,
        ctx: &Value,
        file: Option<&std::path::Path>,
    ) -> Result<String, TemplateError> {
        let _guard = crate::memguard::Render::start(s);
        let own_env;
        let env = if loader::needs_loader(s) {
            own_env = loader::with_loader(&self.env, loader::search_path(ctx, file));
            &own_env
        } else {
            &self.env
        };
        let source = escapes::literal_backslashes(s, false);
        let tmpl = env
            .template_from_str(&source)
            .map_err(|e| self.explain(e, s, ctx))?;
        let mut out = LimitedOutput {
            buf: Vec::new(),
            max: crate::limits::TEMPLATE_OUTPUT.get(),
            exceeded: false,
        };
        let rendered = tmpl.render_captured_to(ctx.clone(), &mut out).map(drop);
        if out.exceeded {
            return Err(too_large(s));
        }
        rendered.map_err(|e| self.explain(e, s, ctx))?;
        String::from_utf8(out.buf).map_err(|e| TemplateError(format!("template output: {e}")))
    }

    pub fn eval_expr(&self, expr: &str, ctx: &Value) -> Result<Value, TemplateError> {
        let _guard = crate::memguard::Render::start(expr);
        let source = escapes::literal_backslashes(expr, true);
        let compiled = self
            .env
            .compile_expression(&source)
            .map_err(|e| TemplateError(format!("template error in '{expr}': {}", detail(&e))))?;
        compiled
            .eval(ctx.clone())
            .map_err(|e| self.explain(e, &format!("{{{{ {expr} }}}}"), ctx))
    }

    /// A `when`/`changed_when`/`failed_when`/`until` condition.
    pub fn condition(&self, cond: &Json, ctx: &Value) -> Result<bool, TemplateError> {
        match cond {
            Json::Bool(b) => Ok(*b),
            Json::Null => Ok(false),
            Json::Number(n) => Ok(n.as_f64() != Some(0.0)),
            Json::String(s) => {
                let text = s.trim();
                // A template inside a condition is evaluated in place, as one expression:
                // what it renders to (a host's output, a file's content) is never templated
                // or evaluated a second time, so data can't run code on the controller.
                let inlined = inline_templates(text);
                let v = match &inlined {
                    Some(expr) => self.eval_expr(expr, ctx)?,
                    None if is_template(text) => {
                        // Statements or comments: rendered once, the text taken as it is.
                        let r = self.render_string(text, ctx)?;
                        return Ok(timonel_modules::spec::to_bool(&r).unwrap_or(match &r {
                            Json::String(s) => !s.trim().is_empty(),
                            Json::Array(a) => !a.is_empty(),
                            _ => true,
                        }));
                    }
                    None => self.eval_expr(text, ctx)?,
                };
                if v.is_undefined() {
                    return Err(self.undefined_error(&format!("{{{{ {text} }}}}"), ctx));
                }
                if let Some(s) = v.as_str() {
                    return Ok(timonel_modules::spec::to_bool(&Json::String(s.to_string()))
                        .unwrap_or(!s.is_empty()));
                }
                Ok(v.is_true())
            }
            other => Ok(!matches!(other, Json::Array(a) if a.is_empty())),
        }
    }

    fn undefined_error(&self, src: &str, ctx: &Value) -> TemplateError {
        let names = self.undefined_names(src, ctx);
        if names.is_empty() {
            match missing_attribute(src, ctx) {
                Some((obj, attr)) => {
                    TemplateError(format!("'{obj}' has no attribute '{attr}' in '{src}'"))
                }
                None => TemplateError(format!("an undefined attribute or key is used in '{src}'")),
            }
        } else {
            TemplateError(format!(
                "undefined variable {} in '{src}'",
                names
                    .iter()
                    .map(|n| format!("'{n}'"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        }
    }

    fn undefined_names(&self, src: &str, ctx: &Value) -> Vec<String> {
        let mut names: Vec<String> = match self
            .env
            .template_from_str(&escapes::literal_backslashes(src, false))
        {
            Ok(t) => t.undeclared_variables(false).into_iter().collect(),
            Err(_) => vec![],
        };
        names.retain(|n| {
            ctx.get_attr(n).map(|v| v.is_undefined()).unwrap_or(true)
                && self.env.globals().all(|(g, _)| g != n.as_str())
        });
        names.sort();
        names
    }

    /// The variables a template uses (a condition's expression when `s` has no template
    /// markers), by their top-level names; none when it doesn't parse.
    pub fn names_used(&self, s: &str) -> Vec<String> {
        let names = if is_template(s) {
            self.env
                .template_from_str(&escapes::literal_backslashes(s, false))
                .map(|t| t.undeclared_variables(false))
        } else {
            self.env
                .compile_expression(&escapes::literal_backslashes(s, true))
                .map(|e| e.undeclared_variables(false))
        };
        let mut names: Vec<String> = names.unwrap_or_default().into_iter().collect();
        names.sort();
        names
    }

    fn explain(&self, e: minijinja::Error, src: &str, ctx: &Value) -> TemplateError {
        if e.kind() == ErrorKind::UndefinedError {
            let base = self.undefined_error(src, ctx);
            // What a filter or lookup said about it (`mandatory(msg)`, `lookup('vars')`).
            return match e.detail().filter(|d| !GENERIC_UNDEFINED.contains(d)) {
                Some(d) => TemplateError(format!("{}: {d}", base.0)),
                None => base,
            };
        }
        TemplateError(format!(
            "template error in '{}': {}",
            src.trim(),
            detail(&e)
        ))
    }
}

/// The variables Ansible's template module adds for a template file (`template_host`,
/// `template_path`, `template_fullpath`, `template_uid`, `template_run_date`, and
/// `ansible_managed`, "Ansible managed" unless the task's variables set it).
pub(super) fn template_vars(path: &std::path::Path, ctx: &Value) -> Value {
    use std::os::unix::fs::MetadataExt;
    let full = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let meta = std::fs::metadata(path).ok();
    let uid = meta.as_ref().map(|m| m.uid()).unwrap_or(0);
    let mtime = meta
        .and_then(|m| m.modified().ok())
        .and_then(|t| jiff::Timestamp::try_from(t).ok())
        .map(|t| {
            t.to_zoned(jiff::tz::TimeZone::system())
                .strftime("%Y-%m-%d %H:%M:%S%.6f")
                .to_string()
        })
        .unwrap_or_default();
    let owner = std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|p| {
            p.lines().find_map(|l| {
                let f: Vec<&str> = l.split(':').collect();
                (f.get(2) == Some(&uid.to_string().as_str())).then(|| f[0].to_string())
            })
        })
        .unwrap_or_else(|| uid.to_string());
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default();
    let own = minijinja::context! {
        template_host => host,
        template_path => path.display().to_string(),
        template_fullpath => full.display().to_string(),
        template_uid => owner,
        template_mtime => mtime,
        template_run_date => jiff::Zoned::now().strftime("%Y-%m-%d %H:%M:%S%.6f").to_string(),
    };
    // merge_maps: the last map that has a key wins. As in Ansible, the template_* variables
    // override the task's, and `ansible_managed` is a default the task's may set.
    let managed = minijinja::context! { ansible_managed => "Ansible managed" };
    minijinja::value::merge_maps([managed, ctx.clone(), own])
}

/// Checks, before anything runs, that a condition (`when`, `until`, `changed_when`,
/// `failed_when`) compiles the way `Templar::condition` will evaluate it: a syntax error is
/// a mistake in the playbook, not a condition that is false.
pub fn check_condition(text: &str) -> Result<(), String> {
    static ENV: std::sync::OnceLock<Environment<'static>> = std::sync::OnceLock::new();
    let env = ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.set_syntax(
            minijinja::syntax::SyntaxConfig::builder()
                .trim_blocks(true)
                .keep_trailing_newline(true)
                .build()
                .expect("default delimiters are valid"),
        );
        env
    });
    let text = text.trim();
    if text.is_empty() {
        return Ok(());
    }
    let compiled = match inline_templates(text) {
        Some(expr) => env
            .compile_expression(&escapes::literal_backslashes(&expr, true))
            .map(drop),
        None if is_template(text) => env
            .template_from_str(&escapes::literal_backslashes(text, false))
            .map(drop),
        None => env
            .compile_expression(&escapes::literal_backslashes(text, true))
            .map(drop),
    };
    compiled.map_err(|e| {
        e.detail()
            .map(str::to_string)
            .unwrap_or_else(|| e.kind().to_string())
    })
}

/// Python methods playbooks call on values: minijinja-contrib's set plus `list.index`.
fn python_methods(
    state: &mut minijinja::State,
    value: &Value,
    method: &str,
    args: &[Value],
) -> Result<Value, minijinja::Error> {
    if value.kind() == ValueKind::Seq && method == "index" {
        let needle = args.first().cloned().unwrap_or_default();
        return value
            .try_iter()?
            .position(|v| v == needle)
            .map(Value::from)
            .ok_or_else(|| {
                minijinja::Error::new(
                    ErrorKind::InvalidOperation,
                    format!("{needle} is not in list"),
                )
            });
    }
    minijinja_contrib::pycompat::unknown_method_callback(state, value, method, args)
}

/// The first `a.b.c` chain in `src` that stops resolving, as (`a.b`, `c`).
fn missing_attribute(src: &str, ctx: &Value) -> Option<(String, String)> {
    let re = regex::Regex::new(r"\b([A-Za-z_][A-Za-z0-9_]*)((?:\.[A-Za-z_][A-Za-z0-9_]*)+)")
        .expect("static pattern");
    for c in re.captures_iter(src) {
        let mut cur = ctx.get_attr(&c[1]).ok()?;
        if cur.is_undefined() {
            continue;
        }
        let mut path = c[1].to_string();
        for part in c[2].split('.').filter(|p| !p.is_empty()) {
            let next = cur.get_attr(part).unwrap_or(Value::UNDEFINED);
            if next.is_undefined() {
                return Some((path, part.to_string()));
            }
            path.push('.');
            path.push_str(part);
            cur = next;
        }
    }
    None
}

fn detail(e: &minijinja::Error) -> String {
    let mut s = e
        .detail()
        .map(str::to_string)
        .unwrap_or_else(|| e.kind().to_string());
    if let Some(l) = e.line().filter(|l| *l > 1) {
        s.push_str(&format!(" (template line {l})"));
    }
    let mut src = std::error::Error::source(e);
    while let Some(inner) = src {
        s.push_str(&format!(": {inner}"));
        src = inner.source();
    }
    s
}

/// Where a template's output goes: a buffer that refuses to grow past the limit.
struct LimitedOutput {
    buf: Vec<u8>,
    max: usize,
    exceeded: bool,
}

impl std::io::Write for LimitedOutput {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        if self.buf.len() + b.len() > self.max {
            self.exceeded = true;
            return Err(std::io::Error::other("template output limit reached"));
        }
        self.buf.extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn too_large(src: &str) -> TemplateError {
    let shown: String = src.trim().chars().take(120).collect();
    let more = if shown.len() < src.trim().len() {
        "..."
    } else {
        ""
    };
    TemplateError(format!(
        "the template '{shown}{more}' renders to more than {} bytes; {}",
        crate::limits::TEMPLATE_OUTPUT.get(),
        crate::limits::TEMPLATE_OUTPUT.explain()
    ))
}

/// Whether a value's text (its strings, keys and scalars) adds up to more than `max` bytes.
fn larger_than(v: &Json, max: usize) -> bool {
    fn size(v: &Json, left: &mut isize) {
        if *left < 0 {
            return;
        }
        match v {
            Json::String(s) => *left -= s.len() as isize,
            Json::Array(a) => {
                for x in a {
                    *left -= 1;
                    size(x, left);
                }
            }
            Json::Object(m) => {
                for (k, x) in m {
                    *left -= k.len() as isize + 1;
                    size(x, left);
                }
            }
            _ => *left -= 4,
        }
    }
    let mut left = max as isize;
    size(v, &mut left);
    left < 0
}

pub fn is_template(s: &str) -> bool {
    s.contains("{{") || s.contains("{%") || s.contains("{#")
}

/// A condition's text with each `{{ expr }}` replaced by `(expr)`; `None` when it has no
/// expression templates, or has statements or comments (`{% %}`, `{# #}`).
fn inline_templates(text: &str) -> Option<String> {
    if !text.contains("{{") || text.contains("{%") || text.contains("{#") {
        return None;
    }
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let end = rest[start..].find("}}")? + start;
        out.push_str(&rest[..start]);
        out.push('(');
        out.push_str(rest[start + 2..end].trim());
        out.push(')');
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    Some(out)
}

/// `"{{ expr }}"` and nothing else: evaluated to a native value, as Ansible does.
pub(super) fn single_expression(s: &str) -> Option<&str> {
    let inner = s.strip_prefix("{{")?.strip_suffix("}}")?;
    if inner.contains("{{") || inner.contains("}}") || inner.contains("{%") {
        return None;
    }
    Some(inner.trim())
}

pub fn to_json(v: &Value) -> Result<Json, minijinja::Error> {
    serde_json::to_value(v)
        .map_err(|e| minijinja::Error::new(ErrorKind::InvalidOperation, e.to_string()))
}

pub fn from_json(v: &Json) -> Value {
    Value::from(Serde(v))
}

fn json_text(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod check_tests {
    #[test]
    fn conditions_compile_unless_their_syntax_is_wrong() {
        for ok in [
            "x | nosuchfilter",
            "x is nosuchtest",
            "result is succeeded and 'a' in b",
            "{{ x }} == 1",
            "x is version('1.2', '>=')",
            "a if b else c",
            "{% if x %}yes{% endif %}",
            "",
        ] {
            assert!(super::check_condition(ok).is_ok(), "{ok}");
        }
        for bad in ["1 ==", "x ===", "{{ 1 == }}", "{% if x %}", "(a"] {
            assert!(super::check_condition(bad).is_err(), "{bad}");
        }
    }
}
