//! Ansible's INI inventory format.

use std::path::Path;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::{ranges, Inventory};
use crate::diag::{Diagnostic, Pos, Source};

/// Ansible reads INI values with Python's literal_eval: numbers, True/False/None, quoted
/// strings, lists and dicts become typed; anything else stays a string.
pub fn literal(s: &str) -> Value {
    let t = s.trim();
    match t {
        "True" | "true" => return Value::Bool(true),
        "False" | "false" => return Value::Bool(false),
        "None" => return Value::Null,
        _ => {}
    }
    if let Ok(i) = t.parse::<i64>() {
        if !(t.len() > 1 && t.starts_with('0')) {
            return Value::from(i);
        }
    }
    if t.contains('.')
        && t.parse::<f64>().is_ok()
        && t.chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == '-')
        && t.matches('.').count() == 1
    {
        if let Some(n) = serde_json::Number::from_f64(t.parse().unwrap_or(0.0)) {
            return Value::Number(n);
        }
    }
    if (t.starts_with('[') && t.ends_with(']')) || (t.starts_with('{') && t.ends_with('}')) {
        if let Ok(v) = serde_json::from_str::<Value>(&t.replace('\'', "\"")) {
            return v;
        }
    }
    Value::String(t.to_string())
}

fn kv_pairs(words: &[String], pos: &Pos) -> Result<Map<String, Value>, Diagnostic> {
    let mut m = Map::new();
    for w in words {
        let Some((k, v)) = w.split_once('=') else {
            return Err(
                Diagnostic::at(pos, format!("expected key=value, found '{w}'"))
                    .help("host variables on a host line are written as name=value"),
            );
        };
        m.insert(k.to_string(), literal(v));
    }
    Ok(m)
}

pub fn parse(inv: &mut Inventory, path: &Path, text: &str) -> Result<(), Diagnostic> {
    let src = Arc::new(Source {
        path: path.to_path_buf(),
        text: text.to_string(),
    });
    #[derive(PartialEq)]
    enum Sect {
        Hosts,
        Vars,
        Children,
    }
    let mut group = "ungrouped".to_string();
    let mut sect = Sect::Hosts;
    for (i, raw) in text.lines().enumerate() {
        let pos = Pos::new(&src, i + 1, 1);
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if line.starts_with('[') {
            let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) else {
                return Err(
                    Diagnostic::at(&pos, format!("unterminated section header '{line}'"))
                        .help("write it as [group], [group:vars] or [group:children]"),
                );
            };
            let (g, kind) = match name.split_once(':') {
                Some((g, "vars")) => (g, Sect::Vars),
                Some((g, "children")) => (g, Sect::Children),
                Some((_, other)) => {
                    return Err(
                        Diagnostic::at(&pos, format!("unknown section type ':{other}'"))
                            .help("sections are [group], [group:vars] or [group:children]"),
                    )
                }
                None => (name, Sect::Hosts),
            };
            if g.is_empty() || g.contains(char::is_whitespace) {
                return Err(Diagnostic::at(&pos, format!("invalid group name '{g}'")));
            }
            group = g.to_string();
            sect = kind;
            inv.groups.entry(group.clone()).or_default();
            continue;
        }
        let words = shlex::split(line).ok_or_else(|| Diagnostic::at(&pos, "unbalanced quotes"))?;
        let words: Vec<String> = words
            .into_iter()
            .take_while(|w| !w.starts_with('#'))
            .collect();
        if words.is_empty() {
            continue;
        }
        match sect {
            Sect::Vars => {
                let Some((k, v)) = line.split_once('=') else {
                    return Err(Diagnostic::at(
                        &pos,
                        format!("expected key=value in [{group}:vars], found '{line}'"),
                    ));
                };
                let v = v.trim();
                let v = shlex::split(v)
                    .filter(|w| w.len() == 1)
                    .map(|w| w[0].clone())
                    .filter(|_| v.starts_with(['"', '\'']))
                    .unwrap_or_else(|| v.to_string());
                let val = if line
                    .split_once('=')
                    .is_some_and(|(_, r)| r.trim().starts_with(['"', '\'']))
                {
                    Value::String(v)
                } else {
                    literal(&v)
                };
                inv.groups
                    .entry(group.clone())
                    .or_default()
                    .vars
                    .insert(k.trim().to_string(), val);
            }
            Sect::Children => {
                if words[0] == group {
                    return Err(Diagnostic::at(
                        &pos,
                        format!("group '{group}' cannot be its own child"),
                    ));
                }
                if let Some(cycle) = inv.child_cycle(&group, &words[0]) {
                    return Err(super::cycle_error(&pos, &group, &words[0], &cycle));
                }
                inv.add_child(&group, &words[0]);
            }
            Sect::Hosts => {
                let mut name = words[0].clone();
                let mut vars = kv_pairs(&words[1..], &pos)?;
                if let Some((h, port)) = name.rsplit_once(':') {
                    if !h.contains(':')
                        && port.chars().all(|c| c.is_ascii_digit())
                        && !port.is_empty()
                    {
                        vars.insert(
                            "ansible_port".into(),
                            Value::from(port.parse::<i64>().unwrap_or(22)),
                        );
                        name = h.to_string();
                    }
                }
                let hosts = ranges::expand(&name).map_err(|e| Diagnostic::at(&pos, e))?;
                for h in hosts {
                    inv.add_host(&h, &group);
                    let entry = inv.hosts.get_mut(&h).expect("just added");
                    for (k, v) in &vars {
                        entry.vars.insert(k.clone(), v.clone());
                    }
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn literals() {
        assert_eq!(literal("5"), Value::from(5));
        assert_eq!(literal("True"), Value::Bool(true));
        assert_eq!(literal("yes"), Value::String("yes".into()));
        assert_eq!(literal("0644"), Value::String("0644".into()));
        assert_eq!(literal("10.0.0.1"), Value::String("10.0.0.1".into()));
    }
}
