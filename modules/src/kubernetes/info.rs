//! k8s_info (also `kubernetes.core.k8s_info`): reads objects by kind, name, namespace and
//! selectors; returns `resources`. Never changes anything, so it runs in check mode too.

use std::time::Duration;

use async_trait::async_trait;
use kube::api::ListParams;
use serde_json::{json, Value};

use super::client::{connect, CONNECTION_ARGS};
use super::compare::mask;
use super::errors::api_error;
use super::manifest::Manifest;
use super::resolve::{discover, resolve};
use super::wait::{self, Condition};
use crate::spec::{arg, ArgType::*, ModuleSpec};
use crate::{Args, ModResult, Module, ModuleResult, Plan, PlanContext};

pub struct K8sInfo;

static SPEC: ModuleSpec = ModuleSpec::new(
    "k8s_info",
    "Reads Kubernetes objects (by kind, name, namespace, label and field selectors) into \
     `resources`; with wait, until they are ready.",
    &[
        arg("kind", Str, "The kind, e.g. Deployment.").required(),
        arg("api_version", Str, "Its apiVersion.")
            .default("\"v1\"")
            .aliases(&["api", "version"]),
        arg("name", Str, "One object's name."),
        arg(
            "namespace",
            Str,
            "The namespace (namespaced kinds; all namespaces if not given).",
        ),
        arg(
            "label_selectors",
            List,
            "Label selectors (key=value, key!=value, key).",
        ),
        arg(
            "field_selectors",
            List,
            "Field selectors (metadata.name=x).",
        ),
        arg(
            "wait",
            Bool,
            "Wait until the named object exists and is ready.",
        )
        .default("false"),
        arg("wait_timeout", Int, "Seconds to wait.").default("120"),
        arg(
            "wait_sleep",
            Int,
            "Accepted for kubernetes.core.k8s_info playbooks.",
        ),
        arg(
            "wait_condition",
            Dict,
            "{type, status, reason}: the condition to wait for.",
        ),
        CONNECTION_ARGS[0],
        CONNECTION_ARGS[1],
        CONNECTION_ARGS[2],
        CONNECTION_ARGS[3],
        CONNECTION_ARGS[4],
        CONNECTION_ARGS[5],
    ],
)
.also_known_as(&["kubernetes.core.k8s_info"]);

#[async_trait]
impl Module for K8sInfo {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn plan(&self, ctx: &PlanContext<'_>, args: &Args) -> ModResult<Plan> {
        let cluster = connect(args, &ctx.host).await?;
        let discovery = discover(&cluster).await?;
        let name = args.string("name").unwrap_or_default();
        let mut m = Manifest {
            obj: json!({"apiVersion": args.string("api_version"), "kind": args.string("kind"),
                        "metadata": {"name": name}})
            .as_object()
            .cloned()
            .unwrap_or_default(),
            origin: "k8s_info".into(),
        };
        let (target, namespaced) = resolve(&discovery, &[], &m)?;
        let target = target.expect("resolve without pending CRDs serves or fails");
        let ns = args.string("namespace").filter(|_| namespaced);
        m.set_namespace(ns.as_deref());
        if args.bool("wait") && !name.is_empty() {
            let timeout =
                Duration::from_secs(args.int("wait_timeout").unwrap_or(120).max(1) as u64);
            let cond = Condition::from_arg(args.get("wait_condition"));
            wait::until_ready(
                &cluster,
                &target,
                &m,
                cond.as_ref(),
                timeout,
                ctx.controller,
            )
            .await?;
        }
        let api = if namespaced && ns.is_none() {
            kube::Api::all_with(cluster.client.clone(), &target.ar)
        } else {
            target.api(&cluster, &m)
        };
        let mut lp = ListParams::default();
        let labels = args.strings("label_selectors").join(",");
        if !labels.is_empty() {
            lp = lp.labels(&labels);
        }
        let mut fields = args.strings("field_selectors");
        if !name.is_empty() {
            fields.push(format!("metadata.name={name}"));
        }
        if !fields.is_empty() {
            lp = lp.fields(&fields.join(","));
        }
        let list = api
            .list(&lp)
            .await
            .map_err(|e| api_error(&cluster, &format!("listing {}", target.ar.plural), e))?;
        let resources: Vec<Value> = list
            .items
            .iter()
            .map(|o| mask(&serde_json::to_value(o).unwrap_or_default()))
            .collect();
        Ok(Plan::Done(
            ModuleResult::ok().with("resources", Value::Array(resources)),
        ))
    }
}
