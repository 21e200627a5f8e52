//! Judging a module's result by the task's keywords: changed_when, failed_when, until.
//! The conditions' values come from a closure (the templar, in the engine), so the rules
//! themselves are plain code with unit tests.

use serde_json::{Map, Value};

/// How a list of conditions combines: changed_when and until need all, failed_when any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Combine {
    All,
    Any,
}

/// The keywords that judge a result.
pub struct Keywords<'a> {
    pub changed_when: Option<&'a [Value]>,
    pub failed_when: Option<&'a [Value]>,
    pub until: Option<&'a [Value]>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The final state of this attempt.
    Done { changed: bool, failed: bool },
    /// `until` is not met and retries are left.
    Retry,
}

/// Applies the keywords to one attempt's `result` (updated in place as Ansible shows it:
/// `changed`, `failed`, `failed_when_result`, `attempts`, `msg`). `attempt` counts from 1;
/// `retries` is how many more attempts `until` allows after the first.
pub fn judge(
    result: &mut Map<String, Value>,
    (mut changed, mut failed): (bool, bool),
    kw: &Keywords,
    (attempt, retries): (i64, i64),
    eval: impl Fn(&[Value], Combine) -> Result<bool, String>,
) -> Result<Verdict, String> {
    if let Some(conds) = kw.changed_when {
        changed = eval(conds, Combine::All).map_err(|e| format!("changed_when: {e}"))?;
        result.insert("changed".into(), Value::Bool(changed));
    }
    if let Some(conds) = kw.failed_when {
        failed = eval(conds, Combine::Any).map_err(|e| format!("failed_when: {e}"))?;
        if failed && !result.contains_key("msg") {
            result.insert(
                "msg".into(),
                Value::String("The conditional check failed_when was met".into()),
            );
        }
        result.insert("failed_when_result".into(), Value::Bool(failed));
        result.insert("failed".into(), Value::Bool(failed));
    }
    if let Some(conds) = kw.until {
        result.insert("attempts".into(), Value::from(attempt));
        if !eval(conds, Combine::All).unwrap_or(false) {
            if attempt <= retries {
                return Ok(Verdict::Retry);
            }
            failed = true;
            result.insert("failed".into(), Value::Bool(true));
            result.entry("msg").or_insert(Value::String(format!(
                "Task failed after {attempt} attempts: the until condition was never met"
            )));
        }
    }
    Ok(Verdict::Done { changed, failed })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn kw<'a>(
        c: Option<&'a [Value]>,
        f: Option<&'a [Value]>,
        u: Option<&'a [Value]>,
    ) -> Keywords<'a> {
        Keywords {
            changed_when: c,
            failed_when: f,
            until: u,
        }
    }

    /// Conditions are the literals true/false; All/Any as the keyword asks.
    fn literal(conds: &[Value], how: Combine) -> Result<bool, String> {
        let vals = conds
            .iter()
            .map(|c| c.as_bool().ok_or("not a bool".to_string()));
        let vals: Vec<bool> = vals.collect::<Result<_, _>>()?;
        Ok(match how {
            Combine::All => vals.iter().all(|b| *b),
            Combine::Any => vals.iter().any(|b| *b),
        })
    }

    #[test]
    fn no_keywords_keep_the_module_verdict() {
        let mut r = Map::new();
        let v = judge(
            &mut r,
            (true, false),
            &kw(None, None, None),
            (1, 0),
            literal,
        );
        assert_eq!(
            v,
            Ok(Verdict::Done {
                changed: true,
                failed: false
            })
        );
        assert!(r.is_empty());
    }

    #[test]
    fn changed_when_overrides_and_failed_when_sets_the_message() {
        let (t, f) = ([json!(true)], [json!(false), json!(true)]);
        let mut r = Map::new();
        let v = judge(
            &mut r,
            (false, false),
            &kw(Some(&t), Some(&f), None),
            (1, 0),
            literal,
        );
        assert_eq!(
            v,
            Ok(Verdict::Done {
                changed: true,
                failed: true
            })
        );
        assert_eq!(r["msg"], "The conditional check failed_when was met");
        assert_eq!(r["failed_when_result"], true);
    }

    #[test]
    fn failed_when_false_clears_a_module_failure_and_keeps_its_message() {
        let f = [json!(false)];
        let mut r = Map::from_iter([("msg".to_string(), json!("rc=1"))]);
        let v = judge(
            &mut r,
            (false, true),
            &kw(None, Some(&f), None),
            (1, 0),
            literal,
        );
        assert_eq!(
            v,
            Ok(Verdict::Done {
                changed: false,
                failed: false
            })
        );
        assert_eq!(r["msg"], "rc=1");
    }

    #[test]
    fn until_retries_then_fails_after_the_last_attempt() {
        let u = [json!(false)];
        let mut r = Map::new();
        assert_eq!(
            judge(
                &mut r,
                (false, false),
                &kw(None, None, Some(&u)),
                (2, 3),
                literal
            ),
            Ok(Verdict::Retry)
        );
        let v = judge(
            &mut r,
            (false, false),
            &kw(None, None, Some(&u)),
            (4, 3),
            literal,
        );
        assert_eq!(
            v,
            Ok(Verdict::Done {
                changed: false,
                failed: true
            })
        );
        assert_eq!(r["attempts"], 4);
        assert!(r["msg"].as_str().unwrap().contains("after 4 attempts"));
    }

    #[test]
    fn a_condition_that_cannot_be_evaluated_names_its_keyword() {
        let bad = [json!("x")];
        let mut r = Map::new();
        let e = judge(
            &mut r,
            (false, false),
            &kw(Some(&bad), None, None),
            (1, 0),
            literal,
        );
        assert_eq!(e, Err("changed_when: not a bool".into()));
        let e = judge(
            &mut r,
            (false, false),
            &kw(None, Some(&bad), None),
            (1, 0),
            literal,
        );
        assert_eq!(e, Err("failed_when: not a bool".into()));
    }
}
