//! What counts as a change, and what a diff shows. Fields the server sets (managedFields,
//! resourceVersion, generation, uid, creationTimestamp, status) are left out of both; a
//! Secret's values are never shown, only which keys are added, changed or removed.

use serde_json::{Map, Value};

const SERVER_SET_META: &[&str] = &[
    "managedFields",
    "resourceVersion",
    "generation",
    "uid",
    "creationTimestamp",
    "selfLink",
];

/// The object without the fields the server sets.
pub fn comparable(obj: &Value) -> Value {
    let mut v = obj.clone();
    if let Value::Object(m) = &mut v {
        m.remove("status");
        if let Some(Value::Object(meta)) = m.get_mut("metadata") {
            for k in SERVER_SET_META {
                meta.remove(*k);
            }
            if meta
                .get("annotations")
                .and_then(Value::as_object)
                .is_some_and(Map::is_empty)
            {
                meta.remove("annotations");
            }
        }
    }
    v
}

fn is_secret(v: &Value) -> bool {
    v.get("kind").and_then(Value::as_str) == Some("Secret")
        && v.get("apiVersion").and_then(Value::as_str) == Some("v1")
}

const HIDDEN: &str = "(hidden)";

/// A Secret's values replaced by a mark (for results and output).
pub fn mask(obj: &Value) -> Value {
    let mut v = obj.clone();
    if is_secret(&v) {
        for field in ["data", "stringData"] {
            if let Some(Value::Object(m)) = v.get_mut(field) {
                for val in m.values_mut() {
                    *val = Value::String(HIDDEN.into());
                }
            }
        }
    }
    v
}

/// Both sides of a Secret's diff masked: a changed value reads "(hidden, old value)" before
/// and "(hidden, new value)" after (as kubectl's `*** (before)` / `*** (after)`), so the diff
/// shows that it changed but not what it was or became.
pub fn mask_pair(before: &Value, after: &Value) -> (Value, Value) {
    if !is_secret(before) && !is_secret(after) {
        return (before.clone(), after.clone());
    }
    let (mut b, mut a) = (mask(before), mask(after));
    for field in ["data", "stringData"] {
        let (ob, oa) = (before.get(field), after.get(field));
        if let (Some(Value::Object(mb)), Some(Value::Object(ma))) = (ob, oa) {
            for (k, vb) in mb {
                if ma.get(k).is_some_and(|va| va != vb) {
                    b[field][k] = Value::String("(hidden, old value)".into());
                    a[field][k] = Value::String("(hidden, new value)".into());
                }
            }
        }
    }
    (b, a)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn server_set_fields_do_not_count() {
        let live = json!({"kind": "ConfigMap", "metadata": {"name": "c", "uid": "1", "resourceVersion": "7",
            "managedFields": [{}], "creationTimestamp": "t", "generation": 2}, "data": {"a": "1"}, "status": {}});
        assert_eq!(
            comparable(&live),
            json!({"kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1"}})
        );
    }

    #[test]
    fn secret_values_are_never_shown_only_that_they_changed() {
        let before = json!({"apiVersion": "v1", "kind": "Secret", "data": {"same": "czE=", "old": "czI=", "gone": "eA=="}});
        let after = json!({"apiVersion": "v1", "kind": "Secret", "data": {"same": "czE=", "old": "czM=", "new": "eQ=="}});
        let (b, a) = mask_pair(&before, &after);
        let text = format!("{b}{a}");
        for secret in ["czE=", "czI=", "czM=", "eA==", "eQ=="] {
            assert!(!text.contains(secret), "{text}");
        }
        assert_eq!(b["data"]["old"], "(hidden, old value)");
        assert_eq!(a["data"]["old"], "(hidden, new value)");
        assert_eq!(a["data"]["same"], "(hidden)");
        assert!(b["data"].get("gone").is_some() && a["data"].get("new").is_some());
    }
}
