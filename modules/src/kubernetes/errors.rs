//! The API's errors as a user reads them: the object, the server and context, the API's own
//! message, and what to do. Tokens and keys are never in them (kube's errors carry none).

use super::client::Cluster;
use crate::ModuleError;

/// An error of a call about `what` ("Deployment web/app", "reading the API's discovery").
pub fn api_error(cluster: &Cluster, what: &str, e: kube::Error) -> ModuleError {
    let msg = match e {
        kube::Error::Api(s) => match s.code {
            401 | 403 => format!(
                "{what}: {} refused the credentials ({} {}): check the kubeconfig's user for \
                 context {} and its permissions",
                cluster.named(),
                s.code,
                s.message,
                cluster.context
            ),
            409 if s.reason == "Conflict" && s.message.contains("conflict") => format!(
                "{what}: {} (another field manager owns these fields; set force_conflicts: true \
                 to take them over)",
                s.message
            ),
            422 => format!("{what} is invalid: {}", s.message),
            _ => format!("{what}: {} ({} {})", s.message, s.code, s.reason),
        },
        other => format!(
            "{what}: cannot reach {}: {other}; check the kubeconfig's server address and that \
             the API server runs",
            cluster.named()
        ),
    };
    ModuleError::Failed(msg)
}

/// Whether an error is the API's 404 for a missing namespace.
pub fn namespace_missing(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 404
        && s.details.as_ref().is_some_and(|d| d.kind == "namespaces"))
}
