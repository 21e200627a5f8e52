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
/// `changed`, `failed`, `failed_when_result`, `msg`); each condition sees the result as it
/// stands (until sees what failed_when made of it). `attempt` counts from 1; `retries` is
/// how many more attempts `until` allows after the first (the caller puts `attempts` in the
/// result first, as changed_when/failed_when may read it).
///
/// A changed_when/failed_when that can't be evaluated fails the task, as in Ansible: the
/// module's result stays, with the error under `changed_when_result`/`failed_when_result`,
/// so `ignore_errors` and `rescue` handle it as any failure. Only an `until` that can't be
/// evaluated is an error of the task itself.
pub fn judge(
    result: &mut Map<String, Value>,
    (mut changed, mut failed): (bool, bool),
    kw: &Keywords,
    (attempt, retries): (i64, i64),
    eval: impl Fn(&[Value], Combine, &Map<String, Value>) -> Result<bool, String>,
) -> Result<Verdict, String> {
    let mut conditions = || -> Result<(), (&str, String)> {
        if let Some(conds) = kw.changed_when {
            changed = eval(conds, Combine::All, result).map_err(|e| ("changed", e))?;
            result.insert("changed".into(), Value::Bool(changed));
        }
        if let Some(conds) = kw.failed_when {
            failed = eval(conds, Combine::Any, result).map_err(|e| ("failed", e))?;
            if failed && !result.contains_key("msg") {
                result.insert(
                    "msg".into(),
                    Value::String("The conditional check failed_when was met".into()),
                );
            }
            result.insert("failed_when_result".into(), Value::Bool(failed));
            result.insert("failed".into(), Value::Bool(failed));
            // A failure failed_when overrules keeps its error out of the way.
            if !failed {
                if let Some(e) = result.remove(EXCEPTION) {
                    result.insert("failed_when_suppressed_exception".into(), e);
                }
            }
        }
        Ok(())
    };
    if let Err((which, e)) = conditions() {
        failed = true;
        result.insert("failed".into(), Value::Bool(true));
        result.insert(
            format!("{which}_when_result"),
            Value::String(format!("Error while evaluating conditional: {e}")),
        );
    }
    // `retries` without `until` retries until the task succeeds.
    let met = match kw.until {
        Some(conds) => eval(conds, Combine::All, result)?,
        None => retries <= 0 || !failed,
    };
    if !met {
        if attempt <= retries {
            return Ok(Verdict::Retry);
        }
        failed = true;
        // Ansible counts the retries, not the first attempt, once they are used up.
        result.insert("attempts".into(), Value::from(retries));
        result.insert("failed".into(), Value::Bool(true));
        result.entry("msg").or_insert(Value::String(format!(
            "Task failed after {attempt} attempts: the until condition was never met"
        )));
    }
    Ok(Verdict::Done { changed, failed })
}

/// Where a failed result carries its error, as Ansible registers it; the text output
/// leaves it out. Timonel has no Python traceback to give.
pub const EXCEPTION: &str = "exception";

/// Marks a failed result as Ansible registers it: with an `exception`.
pub fn mark_exception(result: &mut Map<String, Value>) {
    result
        .entry(EXCEPTION)
        .or_insert(Value::String("(traceback unavailable)".into()));
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
    fn literal(conds: &[Value], how: Combine, _: &Map<String, Value>) -> Result<bool, String> {
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
        // Ansible reports the retries used up, not the attempts made.
        assert_eq!(r["attempts"], 3);
        assert!(r["msg"].as_str().unwrap().contains("after 4 attempts"));
    }

    #[test]
    fn retries_without_until_retry_until_the_task_succeeds() {
        let mut r = Map::new();
        let v = judge(
            &mut r,
            (false, true),
            &kw(None, None, None),
            (1, 2),
            literal,
        );
        assert_eq!(v, Ok(Verdict::Retry));
        let v = judge(
            &mut r,
            (false, false),
            &kw(None, None, None),
            (2, 2),
            literal,
        );
        assert_eq!(
            v,
            Ok(Verdict::Done {
                changed: false,
                failed: false
            })
        );
    }

    #[test]
    fn until_sees_what_failed_when_made_of_the_result() {
        let (f, u) = ([json!(true)], [json!("not failed")]);
        let mut r = Map::new();
        let v = judge(
            &mut r,
            (false, false),
            &kw(None, Some(&f), Some(&u)),
            (1, 0),
            |c, how, res| match c[0].as_str() {
                Some("not failed") => Ok(res["failed"] == json!(false)),
                _ => literal(c, how, res),
            },
        );
        assert_eq!(
            v,
            Ok(Verdict::Done {
                changed: false,
                failed: true
            })
        );
    }

    #[test]
    fn failed_when_false_moves_the_exception_aside() {
        let f = [json!(false)];
        let mut r = Map::new();
        mark_exception(&mut r);
        judge(
            &mut r,
            (false, true),
            &kw(None, Some(&f), None),
            (1, 0),
            literal,
        )
        .unwrap();
        assert!(!r.contains_key(EXCEPTION));
        assert_eq!(
            r["failed_when_suppressed_exception"],
            "(traceback unavailable)"
        );
    }

    #[test]
    fn a_condition_that_cannot_be_evaluated_fails_the_task_and_keeps_the_result() {
        let bad = [json!("x")];
        for (c, f, key) in [
            (Some(&bad[..]), None, "changed_when_result"),
            (None, Some(&bad[..]), "failed_when_result"),
        ] {
            let mut r = Map::from_iter([("stdout".to_string(), json!("foo"))]);
            let v = judge(&mut r, (false, false), &kw(c, f, None), (1, 0), literal);
            assert_eq!(
                v,
                Ok(Verdict::Done {
                    changed: false,
                    failed: true
                })
            );
            assert_eq!(r["stdout"], "foo");
            assert_eq!(r["failed"], true);
            assert_eq!(r[key], "Error while evaluating conditional: not a bool");
        }
    }

    #[test]
    fn an_until_that_cannot_be_evaluated_is_an_error() {
        let bad = [json!("x")];
        let mut r = Map::new();
        let e = judge(
            &mut r,
            (false, false),
            &kw(None, None, Some(&bad)),
            (1, 3),
            literal,
        );
        assert_eq!(e, Err("not a bool".into()));
    }
}
