//! k8s_apply (also `kubernetes.core.k8s`, `k8s`): Kubernetes objects as idempotent tasks.
//! The plan reads each object and asks the server what applying it would make (a server-side
//! apply with `dryRun=All`); it changes only when that differs from the live object, leaving
//! out what the server sets. Apply sends the changed objects in dependency order
//! (`order::levels`), each level in parallel, establishes CRDs before their objects, then
//! prunes and waits.

use std::time::Duration;

use async_trait::async_trait;
use futures::stream::{self, StreamExt};
use kube::api::{DeleteParams, ListParams, Patch};
use serde_json::{json, Map, Value};

use super::client::{connect, Cluster, CONNECTION_ARGS};
use super::compare::{comparable, mask, mask_pair};
use super::errors::api_error;
use super::manifest::{self, Manifest};
use super::observe::{as_value, listed, observe_all, params, Seen, IN_FLIGHT};
use super::order;
use super::resolve::{crds, discover, resolve, Target};
use super::wait::{self, Condition};
use crate::spec::{arg, ArgType::*, ModuleSpec};
use crate::{
    Apply, ApplyContext, Args, FileDiff, ModResult, Module, ModuleError, ModuleResult, Plan,
    PlanContext, Work,
};

pub struct K8sApply;

static SPEC: ModuleSpec = ModuleSpec::new(
    "k8s_apply",
    "Kubernetes objects, applied server-side: created or updated only where they differ, \
     previewed by a server-side dry run, deleted with state: absent.",
    &[
        arg("state", Str, "present: server-side apply; absent: delete.")
            .default("\"present\"")
            .choices(&["present", "absent"]),
        arg("src", Path, "A file of one or many YAML documents, a directory, or a glob."),
        arg("definition", Raw, "Objects: a mapping, a list, or a multi-document string.")
            .aliases(&["resource_definition"]),
        arg("template", Raw, "A template file (or {path: ...}) rendered with the task's variables."),
        arg("namespace", Str, "The namespace of namespaced objects that name none (default: default)."),
        arg("kind", Str, "With name: one object, without a definition (e.g. to delete it)."),
        arg("name", Str, "With kind: one object's name."),
        arg("api_version", Str, "With kind: its apiVersion.")
            .default("\"v1\"")
            .aliases(&["api", "version"]),
        arg("field_manager", Str, "The field manager of the server-side apply.")
            .default("\"timonel\""),
        arg("force_conflicts", Bool, "Take over fields another field manager owns.")
            .default("false"),
        arg("server_side_apply", Dict, "kubernetes.core.k8s's {field_manager, force_conflicts}."),
        arg("apply", Bool, "Accepted for kubernetes.core.k8s playbooks: timonel always applies server-side."),
        arg("wait", Bool, "Wait until rolled out (Deployments, StatefulSets, DaemonSets), complete (Jobs), established (CRDs), or gone.")
            .default("false"),
        arg("wait_timeout", Int, "Seconds to wait.").default("120"),
        arg("wait_sleep", Int, "Accepted for kubernetes.core.k8s playbooks."),
        arg("wait_condition", Dict, "{type, status, reason}: a condition to wait for instead."),
        arg("prune", Bool, "Delete objects that carry prune_label but are no longer in the source.")
            .default("false"),
        arg("prune_label", Str, "The label (key=value) that marks this set of objects."),
        arg("label_selectors", List, "kubernetes.core.k8s's name for the prune label (key=value)."),
        CONNECTION_ARGS[0],
        CONNECTION_ARGS[1],
        CONNECTION_ARGS[2],
        CONNECTION_ARGS[3],
        CONNECTION_ARGS[4],
        CONNECTION_ARGS[5],
    ],
)
.also_known_as(&["kubernetes.core.k8s", "k8s"]);

/// The field manager and force flag (top-level, or kubernetes.core.k8s's server_side_apply).
fn manager(args: &Args) -> (String, bool) {
    let ssa = args.get("server_side_apply");
    let fm = ssa
        .and_then(|s| s.get("field_manager"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| args.string("field_manager"))
        .unwrap_or_else(|| "timonel".into());
    let force = ssa
        .and_then(|s| s.get("force_conflicts"))
        .and_then(Value::as_bool)
        .unwrap_or(false)
        || args.bool("force_conflicts");
    (fm, force)
}

/// The prune label as a selector (`key=value`).
fn prune_selector(args: &Args) -> ModResult<Option<String>> {
    if !args.bool("prune") {
        return Ok(None);
    }
    let mut sel: Vec<String> = args.strings("label_selectors");
    if let Some(l) = args.string("prune_label") {
        sel.push(l);
    }
    if sel.is_empty() {
        return Err(ModuleError::Failed(
            "k8s_apply: prune needs prune_label (key=value) so that only this set's objects \
             are deleted"
                .into(),
        ));
    }
    Ok(Some(sel.join(",")))
}

fn diff(ctx_yaml: &dyn Fn(&Value) -> String, m: &Manifest, seen: &Seen) -> FileDiff {
    let none = Value::Null;
    let (b, a) = mask_pair(
        &seen.live.as_ref().map(comparable).unwrap_or(none.clone()),
        &seen.after.as_ref().map(comparable).unwrap_or(none),
    );
    let text = |v: &Value| {
        if v.is_null() {
            String::new()
        } else {
            ctx_yaml(v)
        }
    };
    let label = m.label();
    FileDiff {
        before_header: if seen.live.is_some() {
            format!("{label} (live)")
        } else {
            format!("{label} (absent)")
        },
        after_header: if seen.after.is_some() {
            format!("{label} (after apply)")
        } else {
            format!("{label} (deleted)")
        },
        before: text(&b),
        after: text(&a),
    }
}

fn method(seen: &Seen) -> &'static str {
    match (&seen.live, &seen.after) {
        (None, Some(_)) => "create",
        (Some(_), None) => "delete",
        _ => "update",
    }
}

/// The registered result: `result` (one object) or `results`, as kubernetes.core.k8s's.
fn registered(objects: &[Manifest], seen: &[Seen], finals: &[Option<Value>]) -> ModuleResult {
    let one = |i: usize| {
        let obj = finals[i]
            .clone()
            .or_else(|| seen[i].after.clone())
            .or_else(|| seen[i].live.clone())
            .map(|o| mask(&o))
            .unwrap_or(json!({}));
        let mut r = Map::new();
        r.insert("kind".into(), json!(objects[i].kind()));
        r.insert("name".into(), json!(objects[i].name()));
        r.insert("namespace".into(), json!(objects[i].namespace()));
        r.insert("changed".into(), json!(seen[i].changes));
        if seen[i].changes {
            r.insert("method".into(), json!(method(&seen[i])));
        }
        r.insert("result".into(), obj);
        r
    };
    let mut result = ModuleResult::ok();
    result.changed = seen.iter().any(|s| s.changes);
    if objects.len() == 1 {
        let r = one(0);
        for (k, v) in r {
            if k == "result" || k == "method" {
                result.data.insert(k, v);
            }
        }
    } else {
        let all: Vec<Value> = (0..objects.len()).map(|i| Value::Object(one(i))).collect();
        result
            .data
            .insert("result".into(), json!({"results": all.clone()}));
        result.data.insert("results".into(), Value::Array(all));
    }
    result
}

#[async_trait]
impl Module for K8sApply {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn plan(&self, ctx: &PlanContext<'_>, args: &Args) -> ModResult<Plan> {
        let absent = args.str("state") == Some("absent");
        let mut objects = manifest::load(args, ctx.controller)?;
        if objects.is_empty() {
            if let (Some(kind), Some(name)) = (args.string("kind"), args.string("name")) {
                let def = json!({"apiVersion": args.string("api_version"), "kind": kind,
                                 "metadata": {"name": name}});
                objects.push(Manifest {
                    obj: def.as_object().cloned().unwrap_or_default(),
                    origin: "kind and name".into(),
                });
            }
        }
        if objects.is_empty() && !args.bool("prune") {
            return Err(ModuleError::Failed(
                "k8s_apply: no objects: give src, definition, template, or kind and name".into(),
            ));
        }
        let cluster = connect(args, &ctx.host).await?;
        let discovery = discover(&cluster).await?;
        let pending = crds(&objects);
        let default_ns = args.string("namespace").unwrap_or_else(|| "default".into());
        let mut targets = vec![];
        for m in objects.iter_mut() {
            let (t, namespaced) = resolve(&discovery, &pending, m)?;
            if !namespaced {
                m.set_namespace(None);
            } else if m.namespace().is_empty() {
                m.set_namespace(Some(&default_ns));
            }
            targets.push(t);
        }
        let (fm, force) = manager(args);
        // Namespaces first: objects in one this task creates are new, with nothing to ask.
        let is_ns: Vec<bool> = objects.iter().map(|m| m.kind() == "Namespace").collect();
        let mut seen: Vec<Option<Seen>> = vec![None; objects.len()];
        let observed = observe_all(
            &cluster,
            &objects,
            &targets,
            &is_ns,
            absent,
            (&fm, force),
            &[],
        )
        .await?;
        for (i, s) in observed {
            seen[i] = Some(s);
        }
        let made: Vec<&str> = objects
            .iter()
            .zip(&seen)
            .filter(|(m, s)| {
                !absent && m.kind() == "Namespace" && s.as_ref().is_some_and(|s| s.live.is_none())
            })
            .map(|(m, _)| m.name())
            .collect();
        let rest: Vec<bool> = is_ns.iter().map(|n| !n).collect();
        let observed = observe_all(
            &cluster,
            &objects,
            &targets,
            &rest,
            absent,
            (&fm, force),
            &made,
        )
        .await?;
        for (i, s) in observed {
            seen[i] = Some(s);
        }
        let seen: Vec<Seen> = seen
            .into_iter()
            .map(|s| s.expect("every object observed"))
            .collect();
        let pruned = match prune_selector(args)? {
            Some(sel) if !absent => prune_candidates(&cluster, &objects, &targets, &sel).await?,
            _ => vec![],
        };
        let mut preview = registered(&objects, &seen, &vec![None; objects.len()]);
        if !pruned.is_empty() {
            preview.changed = true;
            let names: Vec<String> = pruned.iter().map(|(_, m, _)| m.label()).collect();
            preview.data.insert("pruned".into(), json!(names));
        }
        if ctx.diff {
            let yaml = |v: &Value| ctx.controller.to_yaml(v);
            for (m, s) in objects.iter().zip(&seen).filter(|(_, s)| s.changes) {
                preview.diffs.push(diff(&yaml, m, s));
            }
            for (_, m, live) in &pruned {
                let s = Seen {
                    live: Some(live.clone()),
                    after: None,
                    changes: true,
                    namespace_missing: false,
                };
                preview.diffs.push(diff(&yaml, m, &s));
            }
        }
        if !preview.changed {
            return Ok(Plan::Done(preview));
        }
        if let Some((m, _)) = objects.iter().zip(&seen).find(|(_, s)| s.namespace_missing) {
            // An earlier task of the playbook creates it (--check creates nothing): shown as
            // new, as written; a real run that gets here without it fails with this reason.
            return Ok(Plan::Unknown {
                preview,
                reason: format!(
                    "{}: namespace {} does not exist: create it in an earlier task or in this \
                     one (--check shows the object as it would be sent)",
                    m.label(),
                    m.namespace()
                ),
            });
        }
        let wait = args.bool("wait").then(|| {
            (
                Condition::from_arg(args.get("wait_condition")),
                Duration::from_secs(args.int("wait_timeout").unwrap_or(120).max(1) as u64),
            )
        });
        let levels = order::levels(&objects);
        Ok(Plan::change(
            preview,
            Work::custom(Changes {
                cluster,
                objects,
                targets,
                seen,
                levels,
                absent,
                fm,
                force,
                wait,
                pruned,
            }),
        ))
    }
}

/// Objects with the prune label, of the kinds and namespaces of this set, that it no longer has.
async fn prune_candidates(
    cluster: &Cluster,
    objects: &[Manifest],
    targets: &[Option<Target>],
    selector: &str,
) -> ModResult<Vec<(Target, Manifest, Value)>> {
    let mut scopes: Vec<(Target, Manifest)> = vec![];
    for (m, t) in objects.iter().zip(targets) {
        let Some(t) = t else { continue };
        let seen_scope = scopes.iter().any(|(st, sm)| {
            st.ar.group == t.ar.group && st.ar.kind == t.ar.kind && sm.namespace() == m.namespace()
        });
        if !seen_scope {
            scopes.push((t.clone(), m.clone()));
        }
    }
    let mut out = vec![];
    for (t, m) in scopes {
        let list = t
            .api(cluster, &m)
            .list(&ListParams::default().labels(selector))
            .await
            .map_err(|e| api_error(cluster, &format!("listing {} to prune", t.ar.plural), e))?;
        for item in list.items {
            let v = listed(&t, &item);
            let name = v["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let kept = objects.iter().any(|o| {
                o.kind() == t.ar.kind && o.name() == name && o.namespace() == m.namespace()
            });
            if !kept {
                let mut gone = m.clone();
                gone.obj = v.as_object().cloned().unwrap_or_default();
                out.push((t.clone(), gone, v));
            }
        }
    }
    Ok(out)
}

/// The changes a plan found, carried out in dependency order.
struct Changes {
    cluster: Cluster,
    objects: Vec<Manifest>,
    targets: Vec<Option<Target>>,
    seen: Vec<Seen>,
    levels: Vec<Vec<usize>>,
    absent: bool,
    fm: String,
    force: bool,
    wait: Option<(Option<Condition>, Duration)>,
    pruned: Vec<(Target, Manifest, Value)>,
}

impl Changes {
    /// Targets for objects whose CRD was applied in an earlier level.
    async fn resolve_pending(&mut self, level: &[usize]) -> ModResult<()> {
        if level.iter().all(|i| self.targets[*i].is_some()) {
            return Ok(());
        }
        let discovery = discover(&self.cluster).await?;
        for &i in level {
            if self.targets[i].is_none() {
                let (t, _) = resolve(&discovery, &[], &self.objects[i])?;
                self.targets[i] = t;
            }
        }
        Ok(())
    }

    async fn apply_present(
        &mut self,
        progress: &dyn crate::Controller,
    ) -> ModResult<Vec<Option<Value>>> {
        let mut finals = vec![None; self.objects.len()];
        let levels = self.levels.clone();
        for level in &levels {
            self.resolve_pending(level).await?;
            let changing: Vec<usize> = level
                .iter()
                .copied()
                .filter(|&i| self.seen[i].changes)
                .collect();
            // Built into a Vec first: a lazy iterator's closures trip async_trait's bounds.
            let sent: Vec<_> = changing
                .into_iter()
                .map(|i| {
                    let (m, t) = (&self.objects[i], self.targets[i].as_ref());
                    let cluster = &self.cluster;
                    let p = params(&self.fm, self.force);
                    async move {
                        let t = t.ok_or_else(|| {
                            ModuleError::Failed(format!("{}: its kind is not served", m.label()))
                        })?;
                        let obj = Value::Object(m.obj.clone());
                        progress.progress(&format!("applying {}", m.label()));
                        t.api(cluster, m)
                            .patch(m.name(), &p, &Patch::Apply(&obj))
                            .await
                            .map(|o| (i, as_value(&o)))
                            .map_err(|e| api_error(cluster, &m.label(), e))
                    }
                })
                .collect();
            for r in stream::iter(sent)
                .buffer_unordered(IN_FLIGHT)
                .collect::<Vec<_>>()
                .await
            {
                let (i, v) = r?;
                finals[i] = Some(v);
            }
            // A CRD is established before objects of its kind are sent.
            for &i in level {
                let m = &self.objects[i];
                if m.kind() == "CustomResourceDefinition" && self.seen[i].changes {
                    if let Some(t) = &self.targets[i] {
                        wait::until_ready(
                            &self.cluster,
                            t,
                            m,
                            None,
                            Duration::from_secs(60),
                            progress,
                        )
                        .await?;
                    }
                }
            }
        }
        Ok(finals)
    }

    async fn delete(&self, t: &Target, m: &Manifest) -> ModResult<()> {
        match t
            .api(&self.cluster, m)
            .delete(m.name(), &DeleteParams::background())
            .await
        {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
            Err(e) => Err(api_error(
                &self.cluster,
                &format!("deleting {}", m.label()),
                e,
            )),
        }
    }
}

#[async_trait]
impl Apply for Changes {
    async fn apply(
        mut self: Box<Self>,
        ctx: &ApplyContext<'_>,
        _args: &Args,
        preview: ModuleResult,
    ) -> ModResult<ModuleResult> {
        let progress = ctx.controller;
        let finals = if self.absent {
            for level in self.levels.iter().rev() {
                let mut gone = vec![];
                for &i in level {
                    if let (true, Some(t)) = (self.seen[i].changes, self.targets[i].as_ref()) {
                        gone.push(self.delete(t, &self.objects[i]));
                    }
                }
                stream::iter(gone)
                    .buffer_unordered(IN_FLIGHT)
                    .collect::<Vec<_>>()
                    .await
                    .into_iter()
                    .collect::<ModResult<Vec<()>>>()?;
            }
            if let Some((_, timeout)) = &self.wait {
                for (i, m) in self.objects.iter().enumerate() {
                    if let (Some(t), true) = (&self.targets[i], self.seen[i].changes) {
                        wait::until_gone(&self.cluster, t, m, *timeout, progress).await?;
                    }
                }
            }
            vec![None; self.objects.len()]
        } else {
            let finals = self.apply_present(progress).await?;
            for (t, m, _) in &self.pruned {
                progress.progress(&format!("pruning {}", m.label()));
                self.delete(t, m).await?;
            }
            if let Some((cond, timeout)) = &self.wait {
                for (i, m) in self.objects.iter().enumerate() {
                    if let Some(t) = &self.targets[i] {
                        wait::until_ready(&self.cluster, t, m, cond.as_ref(), *timeout, progress)
                            .await?;
                    }
                }
            }
            finals
        };
        let mut result = registered(&self.objects, &self.seen, &finals);
        result.diffs = preview.diffs;
        if let Some(p) = preview.data.get("pruned") {
            result.data.insert("pruned".into(), p.clone());
            result.changed = true;
        }
        Ok(result)
    }
}
