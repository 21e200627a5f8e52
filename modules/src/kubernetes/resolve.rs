//! Which API serves an object, and whether it is namespaced: asked of the server's discovery,
//! never a list of our own, so CRDs and their objects work. An object whose CRD is in the
//! same task is pending until that CRD is established.

use kube::core::{ApiResource, DynamicObject, GroupVersionKind};
use kube::discovery::{Discovery, Scope};
use kube::Api;

use super::client::Cluster;
use super::errors::api_error;
use super::manifest::Manifest;
use crate::{ModResult, ModuleError};

#[derive(Clone)]
pub struct Target {
    pub ar: ApiResource,
    pub namespaced: bool,
}

impl Target {
    /// The API for `m` (its namespace already set where namespaced).
    pub fn api(&self, cluster: &Cluster, m: &Manifest) -> Api<DynamicObject> {
        if self.namespaced {
            Api::namespaced_with(cluster.client.clone(), m.namespace(), &self.ar)
        } else {
            Api::all_with(cluster.client.clone(), &self.ar)
        }
    }
}

/// Discovery of every group the server serves: the aggregated form (two requests) where
/// the server has it (Kubernetes 1.26 on), else one request per group version.
pub async fn discover(cluster: &Cluster) -> ModResult<Discovery> {
    match Discovery::new(cluster.client.clone())
        .run_aggregated()
        .await
    {
        Ok(d) => Ok(d),
        Err(kube::Error::Api(s)) if s.code == 401 || s.code == 403 => Err(api_error(
            cluster,
            "reading the API's discovery",
            kube::Error::Api(s),
        )),
        Err(_) => Discovery::new(cluster.client.clone())
            .run()
            .await
            .map_err(|e| api_error(cluster, "reading the API's discovery", e)),
    }
}

/// The (group, kind, namespaced) of every CRD among `objects`.
pub fn crds(objects: &[Manifest]) -> Vec<(String, String, bool)> {
    objects
        .iter()
        .filter_map(|m| {
            let (group, kind) = super::order::crd_defines(m)?;
            let scope = m
                .obj
                .get("spec")?
                .get("scope")?
                .as_str()
                .unwrap_or("Namespaced");
            Some((group, kind, scope == "Namespaced"))
        })
        .collect()
}

/// What serves `m`: `Ok(Some)`, or `Ok(None)` while its CRD (in the same task) is not yet
/// served; the second value says whether it is namespaced.
pub fn resolve(
    discovery: &Discovery,
    pending_crds: &[(String, String, bool)],
    m: &Manifest,
) -> ModResult<(Option<Target>, bool)> {
    let (group, version) = m.group_version();
    let gvk = GroupVersionKind::gvk(group, version, m.kind());
    if let Some((ar, caps)) = discovery.resolve_gvk(&gvk) {
        let namespaced = caps.scope == Scope::Namespaced;
        return Ok((Some(Target { ar, namespaced }), namespaced));
    }
    if let Some((_, _, namespaced)) = pending_crds
        .iter()
        .find(|(g, k, _)| g == group && k == m.kind())
    {
        return Ok((None, *namespaced));
    }
    let kinds: Vec<String> = discovery
        .groups()
        .flat_map(|g| g.recommended_resources())
        .map(|(ar, _)| ar.kind)
        .collect();
    let hint = crate::spec::suggest(m.kind(), kinds.iter().map(String::as_str))
        .map(|s| format!(" (did you mean '{s}'?)"))
        .unwrap_or_default();
    Err(ModuleError::Failed(format!(
        "{}: kind '{}' is not served by the API server for apiVersion '{}'{hint}",
        m.origin,
        m.kind(),
        m.str("apiVersion")
    )))
}
