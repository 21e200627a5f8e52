//! `module: k=v k2="quoted value" path={{ dir }}/x` free-form arguments, split the way
//! Ansible's `split_args` does: quotes and `{{ }}` / `{% %}` blocks keep spaces inside a word.

use serde_json::{Map, Value};

use modules::ModuleSpec;

/// Words of a free-form line, as written (quotes kept).
pub fn split_args(text: &str) -> Result<Vec<String>, String> {
    let mut words = vec![];
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut depth = 0usize;
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match (quote, c) {
            (Some(q), _) if c == q && (i == 0 || chars[i - 1] != '\\') => quote = None,
            (None, '"') | (None, '\'') if depth == 0 => quote = Some(c),
            (_, '{') if matches!(next, Some('{') | Some('%') | Some('#')) => {
                depth += 1;
                cur.push(c);
                cur.push(next.unwrap_or('{'));
                i += 2;
                continue;
            }
            (_, '}') | (_, '%') | (_, '#') if depth > 0 && next == Some('}') => {
                depth -= 1;
                cur.push(c);
                cur.push('}');
                i += 2;
                continue;
            }
            (None, c) if c.is_whitespace() && depth == 0 => {
                if !cur.is_empty() {
                    words.push(std::mem::take(&mut cur));
                }
                i += 1;
                continue;
            }
            _ => {}
        }
        cur.push(c);
        i += 1;
    }
    if quote.is_some() {
        return Err(format!("unbalanced quotes in '{text}'"));
    }
    if depth > 0 {
        return Err(format!("unclosed template block in '{text}'"));
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    Ok(words)
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
    let (k, v) = word.split_once('=')?;
    if k.is_empty() || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return None;
    }
    Some((k.to_string(), unquote(v)))
}

/// Splits free-form text into arguments. For modules that take a command line
/// (`command: ls -l chdir=/tmp`) only that module's own `k=v` options are pulled out and the
/// rest, as written, becomes `_raw_params`.
pub fn parse(text: &str, spec: Option<&ModuleSpec>) -> Result<Map<String, Value>, String> {
    let words = split_args(text)?;
    let mut args = Map::new();
    if let Some(spec) = spec.filter(|s| s.free_form.is_some()) {
        let mut raw = vec![];
        for w in words {
            match kv(&w) {
                Some((k, v))
                    if !k.starts_with('_') && spec.find_arg(&k).is_some() && k != "cmd" =>
                {
                    args.insert(k, Value::String(v));
                }
                _ => raw.push(w),
            }
        }
        if !raw.is_empty() {
            args.insert(
                spec.free_form.unwrap_or("_raw_params").to_string(),
                Value::String(raw.join(" ")),
            );
        }
        return Ok(args);
    }
    for w in words {
        match kv(&w) {
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
        let spec = modules::registry::find("command").unwrap().spec();
        let a = parse("ls -l '/tmp/a  b' chdir=/var creates={{ x }}/y", Some(spec)).unwrap();
        assert_eq!(a["_raw_params"], "ls -l '/tmp/a  b'");
        assert_eq!(a["chdir"], "/var");
        assert_eq!(a["creates"], "{{ x }}/y");
        let a = parse(r#"msg="{{ a | join(', ') }}""#, None).unwrap();
        assert_eq!(a["msg"], "{{ a | join(', ') }}");
    }

    #[test]
    fn errors() {
        assert!(parse("a='b", None).is_err());
        assert!(parse("just words", None).is_err());
    }
}
