//! The order objects are applied in: a graph whose edges say "must exist first". Kinds come
//! in categories (Namespaces, CRDs, ServiceAccounts and RBAC, ConfigMaps and Secrets,
//! storage, Services, workloads, the rest); an object waits for the objects of earlier
//! categories it can depend on: its Namespace, the CRD that defines its kind, and the objects
//! of its own namespace (a Pod template's ServiceAccount, ConfigMaps, Secrets and claims).
//! Objects with no path between them share a level and are sent in parallel. Deletion walks
//! the levels backwards.

use petgraph::algo::toposort;
use petgraph::graph::DiGraph;

use super::manifest::Manifest;

/// The category of a kind: lower goes first.
pub fn category(kind: &str) -> u8 {
    match kind {
        "Namespace" => 0,
        "CustomResourceDefinition" => 1,
        "ServiceAccount" | "Role" | "ClusterRole" | "RoleBinding" | "ClusterRoleBinding" => 2,
        "ConfigMap" | "Secret" => 3,
        "StorageClass" | "PersistentVolume" | "PersistentVolumeClaim" => 4,
        "Service" => 5,
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" | "CronJob" | "Pod" => 6,
        _ => 7,
    }
}

/// The (group, kind) a CRD defines.
pub fn crd_defines(m: &Manifest) -> Option<(String, String)> {
    if m.kind() != "CustomResourceDefinition" {
        return None;
    }
    let spec = m.obj.get("spec")?;
    let group = spec.get("group")?.as_str()?.to_string();
    let kind = spec.get("names")?.get("kind")?.as_str()?.to_string();
    Some((group, kind))
}

/// Whether `later` may depend on `first` (which is of an earlier category).
fn depends(first: &Manifest, later: &Manifest) -> bool {
    match first.kind() {
        "Namespace" => later.namespace() == first.name(),
        "CustomResourceDefinition" => {
            crd_defines(first) == Some((later.group_version().0.into(), later.kind().into()))
        }
        _ => {
            first.namespace().is_empty()
                || later.namespace().is_empty()
                || first.namespace() == later.namespace()
        }
    }
}

/// Indices of `objects` by level: every object's dependencies are in earlier levels.
pub fn levels(objects: &[Manifest]) -> Vec<Vec<usize>> {
    let mut g = DiGraph::<usize, ()>::new();
    let nodes: Vec<_> = (0..objects.len()).map(|i| g.add_node(i)).collect();
    for (i, a) in objects.iter().enumerate() {
        for (j, b) in objects.iter().enumerate() {
            if category(a.kind()) < category(b.kind()) && depends(a, b) {
                g.add_edge(nodes[i], nodes[j], ());
            }
        }
    }
    // Edges only go to a later category, so there is no cycle.
    let sorted = toposort(&g, None).unwrap_or_default();
    let mut level = vec![0usize; objects.len()];
    for n in sorted {
        let i = g[n];
        for m in g.neighbors(n) {
            let j = g[m];
            level[j] = level[j].max(level[i] + 1);
        }
    }
    let depth = level.iter().max().map_or(0, |d| d + 1);
    let mut out = vec![vec![]; depth];
    for (i, l) in level.into_iter().enumerate() {
        out[l].push(i);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn m(v: serde_json::Value) -> Manifest {
        Manifest {
            obj: v.as_object().unwrap().clone(),
            origin: "test".into(),
        }
    }

    fn names(objects: &[Manifest], levels: &[Vec<usize>]) -> Vec<Vec<String>> {
        levels
            .iter()
            .map(|l| l.iter().map(|i| objects[*i].label()).collect())
            .collect()
    }

    #[test]
    fn namespaces_then_config_then_workloads_and_unrelated_namespaces_in_parallel() {
        let objects = vec![
            m(
                json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "a"}}),
            ),
            m(
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": "a"}}),
            ),
            m(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}})),
            m(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "b"}})),
            m(
                json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "b"}}),
            ),
        ];
        assert_eq!(
            names(&objects, &levels(&objects)),
            vec![
                vec!["Namespace a", "Namespace b"],
                vec!["ConfigMap a/cfg", "Secret b/s"],
                vec!["Deployment a/web"],
            ]
        );
    }

    #[test]
    fn a_custom_object_waits_for_its_crd_only() {
        let objects = vec![
            m(
                json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": "default"}}),
            ),
            m(
                json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                     "metadata": {"name": "widgets.example.com"},
                     "spec": {"group": "example.com", "names": {"kind": "Widget", "plural": "widgets"}}}),
            ),
        ];
        assert_eq!(
            names(&objects, &levels(&objects)),
            vec![
                vec!["CustomResourceDefinition widgets.example.com"],
                vec!["Widget default/w"]
            ]
        );
    }
}
