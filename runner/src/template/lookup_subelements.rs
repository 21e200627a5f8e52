//! `lookup('subelements', list, 'key.subkey', {skip_missing})` and `with_subelements`, as
//! ansible-core's plugin: each record paired with each element of the list its (nested)
//! key names, records marked `skipped` left out, and the plugin's errors.

use serde_json::Value;

use crate::pyfmt::repr;

fn terms_error(msg: &str) -> String {
    format!("subelements lookup expects a list of two or three items, {msg}")
}

/// `[record, element]` pairs; the record without the key its elements came from.
pub fn subelements(terms: &[Value]) -> Result<Vec<Value>, String> {
    if !(2..=3).contains(&terms.len()) {
        return Err(terms_error(""));
    }
    let (Some(path), true) = (
        terms[1].as_str(),
        terms[0].is_array() || terms[0].is_object(),
    ) else {
        return Err(terms_error(
            "first a dict or a list, second a string pointing to the subkey",
        ));
    };
    let skipped = |v: &Value| v.get("skipped").is_some_and(|s| s != &Value::Bool(false));
    let records: Vec<Value> = match &terms[0] {
        // A registered loop result that was skipped as a whole.
        Value::Object(_) if skipped(&terms[0]) => return Ok(vec![]),
        Value::Object(m) => m.values().cloned().collect(),
        Value::Array(a) => a.clone(),
        _ => vec![],
    };
    let skip_missing = match terms.get(2) {
        None => false,
        Some(Value::Object(flags)) => flags
            .get("skip_missing")
            .and_then(timonel_modules::spec::to_bool)
            .unwrap_or(false),
        Some(_) => {
            return Err(terms_error(
                "the optional third item must be a dict with flags ('skip_missing',)",
            ))
        }
    };
    let keys: Vec<&str> = path.split('.').collect();
    let mut out = vec![];
    for record in records {
        if !record.is_object() {
            return Err(format!(
                "subelements lookup expects a dictionary, got '{}'",
                repr(&record)
            ));
        }
        if skipped(&record) {
            continue;
        }
        let mut record = record;
        let elements = take_list(&mut record, &keys, skip_missing)?;
        out.extend(
            elements
                .into_iter()
                .map(|e| Value::Array(vec![record.clone(), e])),
        );
    }
    Ok(out)
}

/// Walks `keys` down from `record` as the plugin does (a missing key with skip_missing is
/// passed over, the walk going on with the next key at the same level) and removes the list
/// the last key names from the record.
fn take_list(record: &mut Value, keys: &[&str], skip_missing: bool) -> Result<Vec<Value>, String> {
    let mut cur = record;
    for (i, key) in keys.iter().enumerate() {
        let last = i + 1 == keys.len();
        let here = cur.as_object().and_then(|m| m.get(*key));
        let Some(v) = here else {
            if skip_missing {
                continue;
            }
            return Err(format!(
                "could not find '{key}' key in iterated item '{}'",
                repr(cur)
            ));
        };
        if !last {
            if !v.is_object() {
                if skip_missing {
                    continue;
                }
                return Err(format!(
                    "the key {key} should point to a dictionary, got '{}'",
                    repr(v)
                ));
            }
            cur = cur
                .get_mut(*key)
                .expect("the key was just found in this mapping");
        } else {
            let Value::Array(_) = v else {
                return Err(format!(
                    "the key {key} should point to a list, got '{}'",
                    repr(v)
                ));
            };
            return Ok(match cur.as_object_mut().and_then(|m| m.remove(*key)) {
                Some(Value::Array(a)) => a,
                _ => vec![],
            });
        }
    }
    Ok(vec![])
}

#[cfg(test)]
mod tests {
    use super::subelements;
    use serde_json::json;

    fn users() -> serde_json::Value {
        json!([
            {"name": "alice", "mysql": {"password": "p", "hosts": ["%", "localhost"]}},
            {"name": "bob", "mysql": {"password": "q", "hosts": ["db1"]}},
            {"name": "carol", "skipped": true, "mysql": {"hosts": ["db9"]}}
        ])
    }

    #[test]
    fn pairs_each_record_with_its_elements() {
        let out = subelements(&[users(), json!("mysql.hosts")]).unwrap();
        let pairs: Vec<(String, String)> = out
            .iter()
            .map(|p| (p[0]["name"].to_string(), p[1].to_string()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("\"alice\"".into(), "\"%\"".into()),
                ("\"alice\"".into(), "\"localhost\"".into()),
                ("\"bob\"".into(), "\"db1\"".into())
            ]
        );
        // The record no longer carries the list it was paired from.
        assert!(out[0][0]["mysql"].get("hosts").is_none());
        assert_eq!(out[0][0]["mysql"]["password"], "p");
    }

    #[test]
    fn a_mapping_of_records_and_missing_keys() {
        let by_name = json!({"a": users()[0].clone(), "b": users()[1].clone()});
        assert_eq!(
            subelements(&[by_name, json!("mysql.hosts")]).unwrap().len(),
            3
        );
        assert_eq!(
            subelements(&[json!({"skipped": true}), json!("mysql.hosts")]).unwrap(),
            Vec::<serde_json::Value>::new()
        );
        let missing = json!([{"id": "x", "the": {"list": [1]}}, {"id": "y"}]);
        assert_eq!(
            subelements(&[
                missing.clone(),
                json!("the.list"),
                json!({"skip_missing": true})
            ])
            .unwrap()
            .len(),
            1
        );
        let e = subelements(&[missing, json!("the.list")]).unwrap_err();
        assert!(
            e.contains("could not find 'the' key in iterated item"),
            "{e}"
        );
    }

    #[test]
    fn errors_name_the_problem() {
        for (terms, want) in [
            (vec![json!(9001), json!("groups")], "first a dict or a list"),
            (
                vec![users(), json!("mysql.password")],
                "should point to a list",
            ),
            (
                vec![users(), json!("mysql.hosts.x")],
                "should point to a dictionary",
            ),
            (
                vec![users(), json!("mysql.monkey")],
                "could not find 'monkey' key in iterated item",
            ),
            (
                vec![users(), json!("mysql.hosts"), json!("wolves")],
                "the optional third item must be a dict",
            ),
            (
                vec![users(), json!("a"), json!(1), json!(2)],
                "expects a list of two or three",
            ),
            (vec![users(), json!(true)], "second a string"),
        ] {
            let e = subelements(&terms).unwrap_err();
            assert!(e.contains(want), "{terms:?}: {e}");
        }
    }
}
