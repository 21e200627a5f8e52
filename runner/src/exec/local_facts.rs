//! `ansible_local`: the host's /etc/ansible/facts.d/*.fact files, as Ansible's local fact
//! collector reads them: an executable file is run and its output used, any other is read;
//! the text is JSON, else INI (sections of options, all strings), else an error message.

use base64::Engine;
use serde_json::{Map, Value};

/// The shell lines that list each fact file as `localfact <rc> <base64 text> <name>`.
pub const SCRIPT: &str = r#"
for f in /etc/ansible/facts.d/*.fact; do
  [ -f "$f" ] || continue
  n=$(basename "$f" .fact)
  if [ -x "$f" ]; then o=$("$f" 2>/dev/null); rc=$?; else o=$(cat "$f" 2>/dev/null); rc=0; fi
  echo "localfact $rc $(printf '%s' "$o" | base64 | tr -d '\n') $n"
done
"#;

/// Whether a line of the facts script's output is a local fact line.
pub fn is_fact_line(line: &str) -> bool {
    line.starts_with("localfact ")
}

/// `ansible_local` from the script's output lines.
pub fn parse(output: &str) -> Map<String, Value> {
    let mut out = Map::new();
    for line in output.lines().filter(|l| is_fact_line(l)) {
        let mut w = line.splitn(4, ' ').skip(1);
        let (Some(rc), Some(b64), Some(name)) = (w.next(), w.next(), w.next()) else {
            continue;
        };
        let path = format!("/etc/ansible/facts.d/{name}.fact");
        let value = if rc != "0" {
            Value::String(format!("Failure executing fact script ({path}), rc: {rc}"))
        } else {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .unwrap_or_default();
            match String::from_utf8(bytes) {
                Ok(text) => fact_value(&text, &path),
                Err(_) => Value::String(format!(
                    "error loading fact - output of running \"{path}\" was not utf-8"
                )),
            }
        };
        out.insert(name.to_string(), value);
    }
    out
}

fn fact_value(text: &str, path: &str) -> Value {
    if let Ok(v) = serde_json::from_str::<Value>(text) {
        return v;
    }
    match ini(text) {
        Some(m) => Value::Object(m),
        None => Value::String(format!(
            "error loading facts as JSON or ini - please check content: {path}"
        )),
    }
}

/// Python's ConfigParser, as far as fact files use it: `[section]` headers, `key = value`
/// or `key: value` options (keys lower-cased), `#`/`;` comments. None when not INI.
fn ini(text: &str) -> Option<Map<String, Value>> {
    let mut out = Map::new();
    let mut section: Option<String> = None;
    for line in text.lines() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') || t.starts_with(';') {
            continue;
        }
        if let Some(name) = t.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            out.entry(name.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            section = Some(name.to_string());
            continue;
        }
        let sect = section.as_ref()?;
        let at = t.find(['=', ':'])?;
        let (k, v) = (t[..at].trim().to_lowercase(), t[at + 1..].trim());
        if let Some(Value::Object(m)) = out.get_mut(sect) {
            m.insert(k, Value::String(v.to_string()));
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(rc: i32, text: &str, name: &str) -> String {
        let b = base64::engine::general_purpose::STANDARD.encode(text);
        format!("localfact {rc} {b} {name}")
    }

    #[test]
    fn json_ini_failed_and_bad_fact_files() {
        let out = [
            line(0, "\"abc\"", "uuid"),
            line(0, "[general]\nName = x\n", "conf"),
            line(1, "", "broken"),
            line(0, "just text", "junk"),
            "hostname=h".to_string(),
        ]
        .join("\n");
        let facts = parse(&out);
        assert_eq!(facts["uuid"], "abc");
        assert_eq!(facts["conf"]["general"]["name"], "x");
        assert!(facts["broken"]
            .as_str()
            .is_some_and(|s| s.starts_with("Failure executing fact script")));
        assert!(facts["junk"]
            .as_str()
            .is_some_and(|s| s.starts_with("error loading facts as JSON or ini")));
        assert_eq!(facts.len(), 4);
    }
}
