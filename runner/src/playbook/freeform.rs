//! `module: k=v k2="quoted value"` free-form arguments.

use regex::Regex;
use serde_json::{Map, Value};

use modules::ModuleSpec;

/// Splits free-form text into arguments. For modules that take a command line
/// (`command: ls -l chdir=/tmp`) only that module's own `k=v` options are pulled out and the
/// rest, as written, becomes `_raw_params`.
pub fn parse(text: &str, spec: Option<&ModuleSpec>) -> Result<Map<String, Value>, String> {
    let mut args = Map::new();
    if let Some(spec) = spec.filter(|s| s.free_form.is_some()) {
        let names: Vec<&str> = spec
            .args
            .iter()
            .map(|a| a.name)
            .filter(|n| !n.starts_with('_'))
            .collect();
        let re = Regex::new(&format!(
            r#"(?:^|\s)({})=("[^"]*"|'[^']*'|\S+)"#,
            names.join("|")
        ))
        .expect("static pattern");
        let mut raw = text.to_string();
        for c in re.captures_iter(text) {
            let v = c[2].trim_matches(|ch| ch == '"' || ch == '\'');
            args.insert(c[1].to_string(), Value::String(v.to_string()));
            raw = raw.replacen(c[0].trim_start(), "", 1);
        }
        let raw = raw.trim();
        if !raw.is_empty() {
            args.insert(
                spec.free_form.unwrap_or("_raw_params").to_string(),
                Value::String(raw.to_string()),
            );
        }
        return Ok(args);
    }
    let words = shlex::split(text).ok_or_else(|| format!("unbalanced quotes in '{text}'"))?;
    for w in words {
        match w.split_once('=') {
            Some((k, v))
                if !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') =>
            {
                args.insert(k.to_string(), Value::String(v.to_string()));
            }
            _ => return Err(format!("expected key=value arguments, found '{w}'")),
        }
    }
    Ok(args)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kv_and_command() {
        let a = parse("dest=/tmp/x content='a b' mode=0644", None).unwrap();
        assert_eq!(a["content"], "a b");
        assert_eq!(a["mode"], "0644");
        let spec = modules::registry::find("command").unwrap().spec();
        let a = parse("ls -l /tmp chdir=/var creates=/x", Some(spec)).unwrap();
        assert_eq!(a["_raw_params"], "ls -l /tmp");
        assert_eq!(a["chdir"], "/var");
        assert_eq!(a["creates"], "/x");
    }
}
