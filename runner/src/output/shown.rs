//! What a result shows: secrets hidden, no_log censored, keys sorted as Ansible prints them.

use serde_json::{Map, Value};

/// What a no_log task's result shows, in every output: Ansible's words and whether it changed.
pub(super) fn censored(result: &Map<String, Value>) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert(
        "censored".into(),
        Value::String(
            "the output has been hidden due to the fact that 'no_log: true' was specified for this result"
                .into(),
        ),
    );
    m.insert(
        "changed".into(),
        result.get("changed").cloned().unwrap_or(Value::Bool(false)),
    );
    m
}

/// The key under which a result lists its secret values (a module's `with_secret`).
pub const SECRET_KEYS: &str = "_timonel_secret";

/// A result with its secret values (a join token, a kubeconfig) shown as hidden: they are
/// registered, never printed, in any output.
pub(super) fn hide_secrets(r: &Map<String, Value>) -> Map<String, Value> {
    let secret: Vec<&str> = r
        .get(SECRET_KEYS)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    r.iter()
        .filter(|(k, _)| *k != SECRET_KEYS)
        .map(|(k, v)| {
            let v = if secret.contains(&k.as_str()) {
                Value::String("(hidden)".into())
            } else {
                v.clone()
            };
            (k.clone(), v)
        })
        .collect()
}

/// Internal keys are not shown to the user, nor secret values.
pub(super) fn clean_for_display(r: &Map<String, Value>) -> Map<String, Value> {
    hide_secrets(r)
        .into_iter()
        .filter(|(k, _)| !k.starts_with("_ansible") && *k != "diff")
        .collect()
}

/// Keys sorted, as Ansible prints results.
fn sorted(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sorted(&m[k])))
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

pub(super) fn compact(v: &Value) -> String {
    crate::pyfmt::json(&sorted(v))
}

pub(super) fn pretty(v: &Value) -> String {
    let v = &sorted(v);
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    let _ = serde::Serialize::serialize(v, &mut ser);
    String::from_utf8_lossy(&buf).into_owned()
}

#[cfg(test)]
mod secret_tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secret_values_are_hidden_and_the_rest_shown() {
        let r = json!({"token": "abcdef.0123456789abcdef", "endpoint": "lb:6443",
                       SECRET_KEYS: ["token"]});
        let shown = clean_for_display(r.as_object().unwrap());
        assert_eq!(shown["token"], "(hidden)");
        assert_eq!(shown["endpoint"], "lb:6443");
        assert!(!shown.contains_key(SECRET_KEYS));
    }
}
