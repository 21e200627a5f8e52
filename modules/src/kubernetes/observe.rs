//! What a plan reads for each object: the live object and what applying would make of it
//! (a server-side apply with `dryRun=All`). Live objects of a kind that a task has several of
//! in one namespace come from one LIST instead of a GET each; requests are bounded in number.

use std::collections::HashMap;

use futures::stream::{self, StreamExt};
use kube::api::{ListParams, Patch, PatchParams};
use serde_json::{json, Value};

use super::client::Cluster;
use super::compare::comparable;
use super::errors::{api_error, namespace_missing};
use super::manifest::Manifest;
use super::resolve::Target;
use crate::ModResult;

/// What a plan found for one object.
#[derive(Clone)]
pub struct Seen {
    pub live: Option<Value>,
    /// What it would be: the dry run's answer; the object as written when the server can't
    /// answer yet (its namespace or CRD is created by this task).
    pub after: Option<Value>,
    pub changes: bool,
    /// Its namespace doesn't exist and this task doesn't create it: in --check, an earlier
    /// task may (the plan is then Unknown); in a real run, an error.
    pub namespace_missing: bool,
}

pub fn params(fm: &str, force: bool) -> PatchParams {
    let p = PatchParams::apply(fm);
    if force {
        p.force()
    } else {
        p
    }
}

pub fn as_value<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or_default()
}

/// An item of a LIST as a GET would answer it: list items name no kind or apiVersion.
pub fn listed(t: &Target, item: &kube::core::DynamicObject) -> Value {
    let mut v = as_value(item);
    v["apiVersion"] = json!(t.ar.api_version);
    v["kind"] = json!(t.ar.kind);
    v
}

/// Requests one task keeps in flight: enough to overlap round trips, few enough that an API
/// server doesn't see hundreds of mutating (dry-run) requests at once.
pub const IN_FLIGHT: usize = 8;

/// From how many objects of one kind in one namespace a LIST replaces their GETs.
const LIST_FROM: usize = 3;

async fn observe(
    cluster: &Cluster,
    m: &Manifest,
    target: Option<&Target>,
    absent: bool,
    (fm, force): (&str, bool),
    namespaces_made: &[&str],
    listed: Option<Option<Value>>,
) -> ModResult<Seen> {
    let desired = Value::Object(m.obj.clone());
    let new = Seen {
        live: None,
        after: (!absent).then_some(desired.clone()),
        changes: !absent,
        namespace_missing: false,
    };
    let Some(t) = target else {
        // Its CRD comes with this task: new, as written.
        return Ok(new);
    };
    if namespaces_made.contains(&m.namespace()) {
        // Its namespace doesn't exist yet and this task creates it: new, as written.
        return Ok(new);
    }
    let api = t.api(cluster, m);
    let get = async {
        if let Some(live) = listed {
            return Ok(live);
        }
        api.get_opt(m.name())
            .await
            .map_err(|e| api_error(cluster, &m.label(), e))
            .map(|o| o.map(|o| as_value(&o)))
    };
    if absent {
        let live = get.await?;
        let changes = live.is_some();
        return Ok(Seen {
            live,
            after: None,
            changes,
            namespace_missing: false,
        });
    }
    let p = params(fm, force).dry_run();
    let patch = Patch::Apply(&desired);
    let (live, dry) = tokio::join!(get, api.patch(m.name(), &p, &patch));
    let live = live?;
    let after = match dry {
        Ok(o) => as_value(&o),
        Err(e) if namespace_missing(&e) => {
            return Ok(Seen {
                namespace_missing: true,
                ..new
            })
        }
        Err(e) => return Err(api_error(cluster, &m.label(), e)),
    };
    let changes = match &live {
        None => true,
        Some(l) => comparable(l) != comparable(&after),
    };
    Ok(Seen {
        live,
        after: Some(after),
        changes,
        namespace_missing: false,
    })
}

/// Observes the objects `which` selects, at most IN_FLIGHT at a time, by index.
pub async fn observe_all(
    cluster: &Cluster,
    objects: &[Manifest],
    targets: &[Option<Target>],
    which: &[bool],
    absent: bool,
    manager: (&str, bool),
    namespaces_made: &[&str],
) -> ModResult<Vec<(usize, Seen)>> {
    let chosen: Vec<usize> = (0..objects.len())
        .filter(|i| which[*i] && !namespaces_made.contains(&objects[*i].namespace()))
        .collect();
    let mut listed = prefetch(cluster, objects, targets, &chosen).await?;
    let chosen = (0..objects.len()).filter(|i| which[*i]);
    stream::iter(chosen.map(|i| {
        let pre = listed.remove(&i);
        async move {
            observe(
                cluster,
                &objects[i],
                targets[i].as_ref(),
                absent,
                manager,
                namespaces_made,
                pre,
            )
            .await
            .map(|s| (i, s))
        }
    }))
    .buffered(IN_FLIGHT)
    .collect::<Vec<_>>()
    .await
    .into_iter()
    .collect()
}

/// Live objects by index, for kinds the task has LIST_FROM or more of in one namespace: one
/// LIST each instead of a GET per object (absent objects map to None).
async fn prefetch(
    cluster: &Cluster,
    objects: &[Manifest],
    targets: &[Option<Target>],
    chosen: &[usize],
) -> ModResult<HashMap<usize, Option<Value>>> {
    let mut groups: HashMap<(String, String, String), Vec<usize>> = HashMap::new();
    for &i in chosen {
        if let Some(t) = &targets[i] {
            let key = (
                t.ar.api_version.clone(),
                t.ar.plural.clone(),
                objects[i].namespace().to_string(),
            );
            groups.entry(key).or_default().push(i);
        }
    }
    let lists = groups
        .into_values()
        .filter(|g| g.len() >= LIST_FROM)
        .map(|g| async move {
            let (first, t) = (
                &objects[g[0]],
                targets[g[0]].as_ref().expect("grouped by target"),
            );
            let list = t
                .api(cluster, first)
                .list(&ListParams::default())
                .await
                .map_err(|e| api_error(cluster, &format!("listing {}", t.ar.plural), e))?;
            let mut by_name: HashMap<String, Value> = list
                .items
                .iter()
                .map(|o| {
                    let v = listed(t, o);
                    (
                        v["metadata"]["name"]
                            .as_str()
                            .unwrap_or_default()
                            .to_string(),
                        v,
                    )
                })
                .collect();
            Ok::<_, crate::ModuleError>(
                g.into_iter()
                    .map(|i| (i, by_name.remove(objects[i].name())))
                    .collect::<Vec<_>>(),
            )
        })
        .collect::<Vec<_>>();
    let mut out = HashMap::new();
    for found in stream::iter(lists)
        .buffer_unordered(IN_FLIGHT)
        .collect::<Vec<_>>()
        .await
    {
        out.extend(found?);
    }
    Ok(out)
}
