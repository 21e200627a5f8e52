//! Ansible's `combine_vars`: how a variable from a later (higher-precedence) source meets
//! the same name from an earlier one. By default it replaces it; with
//! `ANSIBLE_HASH_BEHAVIOUR=merge` (the deprecated `hash_behaviour = merge` setting) mappings
//! are merged recursively, key by key, and anything else replaces.

use std::sync::OnceLock;

use serde_json::{Map, Value};

/// Whether `ANSIBLE_HASH_BEHAVIOUR=merge` is set (read once per run).
pub fn hash_merge() -> bool {
    static MERGE: OnceLock<bool> = OnceLock::new();
    *MERGE.get_or_init(|| {
        std::env::var("ANSIBLE_HASH_BEHAVIOUR")
            .is_ok_and(|v| v.trim().eq_ignore_ascii_case("merge"))
    })
}

/// Layers `from` over `into` as Ansible layers variable sources.
pub fn combine(into: &mut Map<String, Value>, from: &Map<String, Value>) {
    combine_with(into, from, hash_merge());
}

pub fn combine_with(into: &mut Map<String, Value>, from: &Map<String, Value>, merge: bool) {
    for (k, v) in from {
        match (into.get_mut(k), v) {
            (Some(Value::Object(old)), Value::Object(new)) if merge => {
                combine_with(old, new, true);
            }
            _ => {
                into.insert(k.clone(), v.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_goes_into_nested_mappings_and_replace_does_not() {
        let base = json!({"h": {"a": 1, "n": {"x": 1}}, "l": [1]});
        let over = json!({"h": {"b": 2, "n": {"y": 2}}, "l": [2]});
        let mut merged = base.as_object().cloned().unwrap();
        combine_with(&mut merged, over.as_object().unwrap(), true);
        assert_eq!(
            Value::Object(merged),
            json!({"h": {"a": 1, "b": 2, "n": {"x": 1, "y": 2}}, "l": [2]})
        );
        let mut replaced = base.as_object().cloned().unwrap();
        combine_with(&mut replaced, over.as_object().unwrap(), false);
        assert_eq!(Value::Object(replaced), over);
    }
}
