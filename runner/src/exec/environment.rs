//! The `environment` keyword: the play's, blocks' and task's entries, merged in that order,
//! as Ansible's Task._post_validate_environment does it. An entry is a mapping, a template
//! of one, or a list of such; a value (or a whole entry) that renders to `omit` is left
//! out, and one that needs `ansible_env` before facts exist is skipped.

use serde_json::Value;

use crate::template::{Templar, OMIT};

pub fn environment(
    templar: &Templar,
    entries: &[Value],
    ctx: &minijinja::Value,
) -> Result<Vec<(String, String)>, String> {
    let mut env: Vec<(String, String)> = vec![];
    let mut set = |k: String, v: &Value| {
        let text = v
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| v.to_string());
        match env.iter_mut().find(|(n, _)| *n == k) {
            Some(slot) => slot.1 = text,
            None => env.push((k, text)),
        }
    };
    let items = entries.iter().flat_map(|e| match e {
        Value::Array(a) => a.iter().collect::<Vec<_>>(),
        other => vec![other],
    });
    for item in items {
        match item {
            Value::Object(m) => {
                for (k, v) in m {
                    match templar.render_value(v, ctx) {
                        Ok(Value::String(s)) if s == OMIT => {}
                        Ok(v) => set(k.clone(), &v),
                        Err(e) if e.0.contains("ansible_env") => {}
                        Err(e) => return Err(e.0),
                    }
                }
            }
            Value::Null => {}
            other => match templar.render_value(other, ctx).map_err(|e| e.0)? {
                Value::String(s) if s == OMIT => {}
                Value::Object(m) => {
                    for (k, v) in m.iter().filter(|(_, v)| v.as_str() != Some(OMIT)) {
                        set(k.clone(), v);
                    }
                }
                Value::Null => {}
                v => return Err(format!("environment must be a mapping, not {v}")),
            },
        }
    }
    Ok(env)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ctx() -> minijinja::Value {
        crate::template::from_json(&json!({"omit": OMIT, "extra": {"B": "2"}}))
    }

    #[test]
    fn lists_mappings_and_templates_merge_in_order_without_omitted_values() {
        let t = Templar::new();
        let entries = [
            json!({"A": "outer", "C": "c"}),
            json!([{"GONE": "{{ omit }}", "A": "inner"}, "{{ omit }}", "{{ extra }}"]),
        ];
        let env = environment(&t, &entries, &ctx()).unwrap();
        assert_eq!(
            env,
            vec![
                ("A".to_string(), "inner".to_string()),
                ("C".to_string(), "c".to_string()),
                ("B".to_string(), "2".to_string()),
            ]
        );
    }

    #[test]
    fn a_value_needing_ansible_env_before_facts_is_skipped_others_fail() {
        let t = Templar::new();
        let skipped = [json!({"PATH": "{{ ansible_env.PATH }}:/x", "K": "v"})];
        let env = environment(&t, &skipped, &ctx()).unwrap();
        assert_eq!(env, vec![("K".to_string(), "v".to_string())]);
        assert!(environment(&t, &[json!({"K": "{{ nope }}"})], &ctx()).is_err());
        assert!(environment(&t, &[json!("a string")], &ctx()).is_err());
    }
}
