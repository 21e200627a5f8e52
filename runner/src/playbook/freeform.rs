//! `module: k=v k2="quoted value" path={{ dir }}/x` free-form arguments, split the way
//! Ansible's `split_args` does: quotes and `{{ }}` / `{% %}` blocks keep spaces inside a word.

use serde_json::{Map, Value};

use timonel_modules::ModuleSpec;

/// The key under which a task keeps arguments written as one template
/// (`add_host: "{{ host_data }}"`, `assert: "{{ item }}"`): Ansible renders it to the
/// mapping of arguments when the task runs.
pub const ARGS_TEMPLATE: &str = "_args_template";

/// Whether free-form text is one `{{ expression }}` and nothing else.
pub fn is_whole_template(text: &str) -> bool {
    let t = text.trim();
    t.starts_with("{{") && t.ends_with("}}") && t[2..t.len() - 2].find("{{").is_none()
}

/// Rendered arguments: the mapping a whole-template argument rendered to (or the `k=v`
/// text it rendered to), or as they are. Text that still doesn't split into `k=v` gives an
/// argument named after the problem, which the module's validation then reports.
pub fn expand_args_template(raw: Map<String, Value>) -> Map<String, Value> {
    match raw.get(ARGS_TEMPLATE) {
        Some(Value::Object(m)) if raw.len() == 1 => m.clone(),
        Some(Value::String(s)) if raw.len() == 1 => match parse(s, None) {
            Ok(m) => m,
            Err(e) => Map::from_iter([(format!("<{e}>"), Value::Null)]),
        },
        _ => raw,
    }
}

/// Byte ranges of the words of a free-form line, as written (quotes kept).
fn split_spans(text: &str) -> Result<Vec<(usize, usize)>, String> {
    let mut spans = vec![];
    let mut start: Option<usize> = None;
    let mut quote: Option<char> = None;
    let mut depth = 0usize;
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut i = 0;
    while i < chars.len() {
        let (at, c) = chars[i];
        let next = chars.get(i + 1).map(|x| x.1);
        // As in Ansible's split_args, a quote after a backslash neither opens nor closes.
        let escaped = i > 0 && chars[i - 1].1 == '\\';
        match (quote, c) {
            // Quotes inside a `{{ }}` within a quoted value belong to the template:
            // msg="{{ "abc" | upper }}" is one word.
            (Some(q), _) if c == q && !escaped && depth == 0 => quote = None,
            (None, '"') | (None, '\'') if depth == 0 && !escaped => quote = Some(c),
            (_, '{') if matches!(next, Some('{') | Some('%') | Some('#')) => {
                depth += 1;
                start.get_or_insert(at);
                i += 2;
                continue;
            }
            (_, '}') | (_, '%') | (_, '#') if depth > 0 && next == Some('}') => {
                depth -= 1;
                i += 2;
                continue;
            }
            (None, c) if c.is_whitespace() && depth == 0 => {
                if let Some(s) = start.take() {
                    spans.push((s, at));
                }
                i += 1;
                continue;
            }
            _ => {}
        }
        start.get_or_insert(at);
        i += 1;
    }
    if quote.is_some() {
        return Err(format!("unbalanced quotes in '{text}'"));
    }
    if depth > 0 {
        return Err(format!("unclosed template block in '{text}'"));
    }
    if let Some(s) = start {
        spans.push((s, text.len()));
    }
    Ok(spans)
}

fn unquote(v: &str) -> String {
    let b = v.as_bytes();
    if b.len() >= 2 && (b[0] == b'"' || b[0] == b'\'') && b[b.len() - 1] == b[0] {
        v[1..v.len() - 1].to_string()
    } else {
        v.to_string()
    }
}

fn kv(word: &str) -> Option<(String, String)> {
    // A key may be a template (`set_fact: "user_{{ name }}=x"`): it is rendered with the
    // value. The `=` that ends it is the first one outside `{{ }}`.
    let mut depth = 0usize;
    let mut split = None;
    let b = word.as_bytes();
    for i in 0..b.len() {
        // Bytes, not chars: `{`, `}` and `=` are ASCII, so never inside a multi-byte char.
        if b[i..].starts_with(b"{{") {
            depth += 1;
        } else if b[i..].starts_with(b"}}") {
            depth = depth.saturating_sub(1);
        } else if b[i] == b'=' && depth == 0 {
            split = Some(i);
            break;
        }
    }
    let (k, v) = (&word[..split?], &word[split? + 1..]);
    let templated = k.contains("{{") && k.ends_with("}}");
    if k.is_empty() || !(templated || k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')) {
        return None;
    }
    Some((k.to_string(), unquote(v)))
}

/// Splits free-form text into arguments. For modules that take a command line
/// (`command: ls -l chdir=/tmp`) only that module's own `k=v` options are pulled out and the
/// rest, as written, becomes `_raw_params`.
pub fn parse(text: &str, spec: Option<&ModuleSpec>) -> Result<Map<String, Value>, String> {
    let spans = split_spans(text)?;
    let mut args = Map::new();
    if let Some(spec) = spec.filter(|s| s.free_form.is_some()) {
        // The command line stays exactly as written (newlines and spacing included); only
        // the module's own k=v options are cut out of it.
        let mut raw = String::new();
        let mut last = 0;
        for (a, b) in spans {
            match kv(&text[a..b]) {
                Some((k, v))
                    if !k.starts_with('_') && spec.find_arg(&k).is_some() && k != "cmd" =>
                {
                    args.insert(k, Value::String(v));
                    raw.push_str(&text[last..a]);
                    last = b;
                }
                _ => {}
            }
        }
        raw.push_str(&text[last..]);
        let raw = raw.trim();
        if !raw.is_empty() {
            args.insert(
                spec.free_form.unwrap_or("_raw_params").to_string(),
                Value::String(raw.to_string()),
            );
        }
        return Ok(args);
    }
    for (a, b) in spans {
        let w = &text[a..b];
        match kv(w) {
            Some((k, v)) => {
                args.insert(k, Value::String(v));
            }
            None => return Err(format!("expected key=value arguments, found '{w}'")),
        }
    }
    Ok(args)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kv_and_command() {
        let a = parse(
            "dest=/tmp/x content='a b' mode=0644 path={{ root }}/x",
            None,
        )
        .unwrap();
        assert_eq!(a["content"], "a b");
        assert_eq!(a["mode"], "0644");
        assert_eq!(a["path"], "{{ root }}/x");
        let spec = timonel_modules::registry::find("command").unwrap().spec();
        let a = parse("ls -l '/tmp/a  b' chdir=/var creates={{ x }}/y", Some(spec)).unwrap();
        assert_eq!(a["_raw_params"], "ls -l '/tmp/a  b'");
        assert_eq!(a["chdir"], "/var");
        assert_eq!(a["creates"], "{{ x }}/y");
        let shell = timonel_modules::registry::find("shell").unwrap().spec();
        let a = parse("mkdir x\nls  -d x chdir=/tmp\n", Some(shell)).unwrap();
        assert_eq!(a["_raw_params"], "mkdir x\nls  -d x");
        assert_eq!(a["chdir"], "/tmp");
        let a = parse(r#"msg="{{ a | join(', ') }}""#, None).unwrap();
        assert_eq!(a["msg"], "{{ a | join(', ') }}");
        let a = parse(r#"msg="{{ "abc" | upper }}" other='x'"#, None).unwrap();
        assert_eq!(a["msg"], r#"{{ "abc" | upper }}"#);
        assert_eq!(a["other"], "x");
        // A backslash-escaped quote opens nothing (awk -F\' as in real roles).
        let cmd = r#"echo "it's" | awk -F\' '{print $1}' chdir=/tmp"#;
        let a = parse(cmd, Some(shell)).unwrap();
        assert_eq!(a["_raw_params"], r#"echo "it's" | awk -F\' '{print $1}'"#);
        assert_eq!(a["chdir"], "/tmp");
    }

    #[test]
    fn whole_template_arguments() {
        assert!(is_whole_template(" {{ item }} "));
        assert!(!is_whole_template("{{ a }}={{ b }}"));
        assert!(!is_whole_template("msg={{ a }}"));
        let mut raw = Map::new();
        raw.insert(ARGS_TEMPLATE.into(), serde_json::json!({"name": "h1"}));
        assert_eq!(expand_args_template(raw)["name"], "h1");
        let mut raw = Map::new();
        raw.insert(ARGS_TEMPLATE.into(), serde_json::json!("name=h1 groups=g"));
        assert_eq!(expand_args_template(raw)["groups"], "g");
        let mut raw = Map::new();
        raw.insert(ARGS_TEMPLATE.into(), serde_json::json!("garbage"));
        let bad = expand_args_template(raw);
        assert!(
            bad.keys().next().unwrap().contains("expected key=value"),
            "{bad:?}"
        );
    }

    #[test]
    fn templated_key() {
        let a = parse("{{ item }}=x {{ a ~ '=' }}=y user_{{ n }}=z", None).unwrap();
        assert_eq!(a["user_{{ n }}"], "z");
        assert_eq!(a["{{ item }}"], "x");
        assert_eq!(a["{{ a ~ '=' }}"], "y");
    }

    #[test]
    fn errors() {
        assert!(parse("a='b", None).is_err());
        assert!(parse("just words", None).is_err());
    }
}
