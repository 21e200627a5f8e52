//! A small YAML emitter for `to_yaml` / `to_nice_yaml` (block style, quoted where needed).

use serde_json::Value;

fn needs_quotes(s: &str) -> bool {
    s.is_empty()
        || !matches!(crate::yaml::load_str("q", &format!("k: {s}")).ok().and_then(|d| d.first().and_then(|n| n.get("k").and_then(|v| v.as_str().map(str::to_string)))), Some(ref x) if x == s)
        || s.starts_with([
            ' ', '-', '?', '&', '*', '!', '|', '>', '%', '@', '`', '"', '\'',
        ])
        || s.ends_with(' ')
        || s.contains(": ")
        || s.contains(" #")
        || s.contains('\n')
}

fn scalar(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) if needs_quotes(s) => serde_json::to_string(s).unwrap_or_default(),
        Value::String(s) => s.clone(),
        Value::Array(a) if a.is_empty() => "[]".into(),
        Value::Object(m) if m.is_empty() => "{}".into(),
        _ => unreachable!("collections are emitted in block style"),
    }
}

fn is_scalar(v: &Value) -> bool {
    match v {
        Value::Array(a) => a.is_empty(),
        Value::Object(m) => m.is_empty(),
        _ => true,
    }
}

fn emit(v: &Value, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, x) in m {
                let key = if needs_quotes(k) {
                    serde_json::to_string(k).unwrap_or_default()
                } else {
                    k.clone()
                };
                if is_scalar(x) {
                    out.push_str(&format!("{pad}{key}: {}\n", scalar(x)));
                } else {
                    out.push_str(&format!("{pad}{key}:\n"));
                    emit(
                        x,
                        if matches!(x, Value::Array(_)) {
                            indent
                        } else {
                            indent + 2
                        },
                        out,
                    );
                }
            }
        }
        Value::Array(a) if !a.is_empty() => {
            for x in a {
                if is_scalar(x) {
                    out.push_str(&format!("{pad}- {}\n", scalar(x)));
                } else {
                    let mut sub = String::new();
                    emit(x, indent + 2, &mut sub);
                    out.push_str(&format!("{pad}- {}", &sub[indent + 2..]));
                }
            }
        }
        other => out.push_str(&format!("{pad}{}\n", scalar(other))),
    }
}

pub fn to_yaml(v: &Value, indent: usize) -> String {
    let mut out = String::new();
    emit(v, 0, &mut out);
    if indent != 2 {
        // Re-indent block levels for to_nice_yaml(indent=N).
        out = out
            .lines()
            .map(|l| {
                let n = l.len() - l.trim_start().len();
                format!("{}{}\n", " ".repeat(n / 2 * indent), l.trim_start())
            })
            .collect();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn nested() {
        let v = serde_json::json!({"a": 1, "b": ["x", {"c": "yes"}], "d": {"e": ""}});
        assert_eq!(
            to_yaml(&v, 2),
            "a: 1\nb:\n- x\n- c: \"yes\"\nd:\n  e: \"\"\n"
        );
    }
}
