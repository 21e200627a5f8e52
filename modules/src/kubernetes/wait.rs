//! `wait: true`: Deployments, StatefulSets and DaemonSets rolled out, Jobs complete (a failed
//! Job fails the task with its reason), CRDs established, or a `wait_condition`; deletions
//! until the object is gone. The progress line says what is awaited.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::client::Cluster;
use super::errors::api_error;
use super::manifest::Manifest;
use super::resolve::Target;
use crate::{Controller, ModResult, ModuleError};

/// A condition to wait for (kubernetes.core.k8s's `wait_condition`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub type_: String,
    pub status: String,
    pub reason: Option<String>,
}

impl Condition {
    pub fn from_arg(v: Option<&Value>) -> Option<Condition> {
        let v = v?.as_object()?;
        Some(Condition {
            type_: v.get("type")?.as_str()?.to_string(),
            status: v
                .get("status")
                .map(|s| match s {
                    Value::String(s) => s.clone(),
                    Value::Bool(b) => if *b { "True" } else { "False" }.to_string(),
                    other => other.to_string(),
                })
                .unwrap_or_else(|| "True".into()),
            reason: v.get("reason").and_then(Value::as_str).map(str::to_string),
        })
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum Readiness {
    Ready,
    /// Not yet: what it is at ("2/3 available").
    Waiting(String),
    /// It won't be (a failed Job).
    Failed(String),
}

fn int(v: &Value, path: &[&str]) -> i64 {
    let mut cur = v;
    for p in path {
        cur = &cur[*p];
    }
    cur.as_i64().unwrap_or(0)
}

fn condition<'a>(obj: &'a Value, type_: &str) -> Option<&'a Value> {
    obj["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_)
}

fn has_condition(obj: &Value, c: &Condition) -> bool {
    condition(obj, &c.type_).is_some_and(|found| {
        found["status"] == c.status.as_str()
            && c.reason
                .as_ref()
                .is_none_or(|r| found["reason"] == r.as_str())
    })
}

/// How far `obj` is from ready.
pub fn readiness(obj: &Value, wanted: Option<&Condition>) -> Readiness {
    if let Some(c) = wanted {
        return if has_condition(obj, c) {
            Readiness::Ready
        } else {
            Readiness::Waiting(format!("condition {}={}", c.type_, c.status))
        };
    }
    let observed =
        int(obj, &["status", "observedGeneration"]) >= int(obj, &["metadata", "generation"]);
    let kind = obj["kind"].as_str().unwrap_or_default();
    match kind {
        "Deployment" | "StatefulSet" => {
            let want = obj["spec"]["replicas"].as_i64().unwrap_or(1);
            let updated = int(obj, &["status", "updatedReplicas"]);
            let ready = if kind == "Deployment" {
                int(obj, &["status", "availableReplicas"])
            } else {
                int(obj, &["status", "readyReplicas"])
            };
            let word = if kind == "Deployment" {
                "available"
            } else {
                "ready"
            };
            if observed && updated >= want && ready >= want {
                Readiness::Ready
            } else {
                Readiness::Waiting(format!("{ready}/{want} {word}"))
            }
        }
        "DaemonSet" => {
            let want = int(obj, &["status", "desiredNumberScheduled"]);
            let avail = int(obj, &["status", "numberAvailable"]);
            let updated = int(obj, &["status", "updatedNumberScheduled"]);
            if observed && avail >= want && updated >= want {
                Readiness::Ready
            } else {
                Readiness::Waiting(format!("{avail}/{want} available"))
            }
        }
        "Job" => {
            let done = |t| condition(obj, t).is_some_and(|c| c["status"] == "True");
            if done("Failed") {
                let c = condition(obj, "Failed").cloned().unwrap_or_default();
                Readiness::Failed(
                    format!(
                        "the Job failed: {} {}",
                        c["reason"].as_str().unwrap_or_default(),
                        c["message"].as_str().unwrap_or_default()
                    )
                    .trim_end()
                    .to_string(),
                )
            } else if done("Complete") {
                Readiness::Ready
            } else {
                Readiness::Waiting("running".into())
            }
        }
        "CustomResourceDefinition" => {
            if condition(obj, "Established").is_some_and(|c| c["status"] == "True") {
                Readiness::Ready
            } else {
                Readiness::Waiting("not established".into())
            }
        }
        _ => Readiness::Ready,
    }
}

/// Polls `m` until it is ready, failed, or `timeout` passed.
pub async fn until_ready(
    cluster: &Cluster,
    target: &Target,
    m: &Manifest,
    wanted: Option<&Condition>,
    timeout: Duration,
    progress: &dyn Controller,
) -> ModResult<()> {
    let state = |live: Option<Value>| match live {
        Some(obj) => readiness(&obj, wanted),
        None => Readiness::Waiting("not found".into()),
    };
    let late = |secs: u64, note: &str| {
        format!("not ready after {secs}s ({note}); raise wait_timeout or look at its events")
    };
    poll(cluster, target, m, timeout, progress, state, late).await
}

/// Polls until `m` is gone.
pub async fn until_gone(
    cluster: &Cluster,
    target: &Target,
    m: &Manifest,
    timeout: Duration,
    progress: &dyn Controller,
) -> ModResult<()> {
    let state = |live: Option<Value>| match live {
        Some(_) => Readiness::Waiting("deleting".into()),
        None => Readiness::Ready,
    };
    let late = |secs: u64, _: &str| {
        format!("still there after {secs}s; raise wait_timeout or look at its finalizers")
    };
    poll(cluster, target, m, timeout, progress, state, late).await
}

/// Reads `m` every half second until `state` says it is ready (or failed), showing what it
/// waits for on the progress line; `late` words the timeout.
async fn poll(
    cluster: &Cluster,
    target: &Target,
    m: &Manifest,
    timeout: Duration,
    progress: &dyn Controller,
    state: impl Fn(Option<Value>) -> Readiness,
    late: impl Fn(u64, &str) -> String,
) -> ModResult<()> {
    let api = target.api(cluster, m);
    let start = Instant::now();
    let what = format!("{}/{}", m.kind().to_lowercase(), m.name());
    loop {
        let live = api
            .get_opt(m.name())
            .await
            .map_err(|e| api_error(cluster, &m.label(), e))?;
        match state(live.map(|o| serde_json::to_value(o).unwrap_or_default())) {
            Readiness::Ready => return Ok(()),
            Readiness::Failed(why) => {
                return Err(ModuleError::Failed(format!("{}: {why}", m.label())))
            }
            Readiness::Waiting(note) => {
                if start.elapsed() >= timeout {
                    return Err(ModuleError::Failed(format!(
                        "{}: {}",
                        m.label(),
                        late(timeout.as_secs(), &note)
                    )));
                }
                progress.progress(&format!("{what} {note}"));
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_deployment_is_ready_when_its_generation_is_observed_and_all_are_available() {
        let mut d = json!({"kind": "Deployment", "metadata": {"generation": 2},
            "spec": {"replicas": 3},
            "status": {"observedGeneration": 1, "updatedReplicas": 3, "availableReplicas": 3}});
        assert_eq!(
            readiness(&d, None),
            Readiness::Waiting("3/3 available".into())
        );
        d["status"]["observedGeneration"] = json!(2);
        d["status"]["availableReplicas"] = json!(2);
        assert_eq!(
            readiness(&d, None),
            Readiness::Waiting("2/3 available".into())
        );
        d["status"]["availableReplicas"] = json!(3);
        assert_eq!(readiness(&d, None), Readiness::Ready);
    }

    #[test]
    fn a_failed_job_fails_with_its_reason() {
        let j = json!({"kind": "Job", "status": {"conditions": [
            {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"}]}});
        assert_eq!(
            readiness(&j, None),
            Readiness::Failed(
                "the Job failed: BackoffLimitExceeded Job has reached the specified backoff limit"
                    .into()
            )
        );
    }

    #[test]
    fn wait_condition_is_checked_on_any_kind() {
        let c = Condition::from_arg(Some(&json!({"type": "Ready", "status": true}))).unwrap();
        let o = json!({"kind": "Widget", "status": {"conditions": [{"type": "Ready", "status": "False"}]}});
        assert!(matches!(readiness(&o, Some(&c)), Readiness::Waiting(_)));
        let o = json!({"kind": "Widget", "status": {"conditions": [{"type": "Ready", "status": "True"}]}});
        assert_eq!(readiness(&o, Some(&c)), Readiness::Ready);
    }
}
