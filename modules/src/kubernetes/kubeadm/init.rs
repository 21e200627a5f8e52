//! kubeadm_init: the first control-plane node. Done when `/etc/kubernetes/admin.conf`
//! exists and the API answers; a node with manifests but no answering API is half
//! initialised and reported with the fix, never initialised again silently. Every run
//! returns what joining needs, read back from the node and the cluster; a token or the
//! uploaded certificates are renewed only when kubeadm has let them expire.

use async_trait::async_trait;
use serde_json::{json, Value};

use super::kubeconfig_dest;
use super::{
    ca_cert_hash, endpoint_of, join_command, kubeadm_error, parse_tokens, push_flags, usable_token,
    SOON,
};
use crate::connection::sh_quote;
use crate::spec::{arg, ArgType::*, ModuleSpec};
use crate::{
    Apply, ApplyContext, Args, FileDiff, HostView, ModResult, Module, ModuleError, ModuleResult,
    Plan, PlanContext, Work, KNOWN_AFTER_APPLY,
};

pub struct KubeadmInit;

static SPEC: ModuleSpec = ModuleSpec::new(
    "kubeadm_init",
    "Initialise the first control-plane node with kubeadm, once; return the join commands, \
     token, CA hash, certificate key and admin kubeconfig on every run.",
    &[
        arg("control_plane_endpoint", Str, "The API's load-balanced address (host:port) for HA."),
        arg("pod_network_cidr", Str, "The pod network (e.g. 10.244.0.0/16 for Flannel)."),
        arg("service_cidr", Str, "The service network."),
        arg("kubernetes_version", Str, "The control plane's version (e.g. v1.33.1)."),
        arg("cri_socket", Str, "The container runtime's socket."),
        arg("upload_certs", Bool, "Upload the control-plane certificates for other control-plane nodes.")
            .default("false"),
        arg("certificate_key", Str, "64 hex digits encrypting the uploaded certificates; keep it with your secrets."),
        arg("apiserver_advertise_address", Str, "The address the API server advertises."),
        arg("apiserver_cert_extra_sans", List, "More names and addresses for the API server's certificate."),
        arg("node_name", Str, "The node's name."),
        arg("ignore_preflight_errors", List, "Preflight checks to ignore (kubeadm's names)."),
        arg("config", Dict, "kubeadm's own configuration (InitConfiguration, ClusterConfiguration, KubeletConfiguration as a list of documents or a mapping), written to config_path."),
        arg("config_path", Path, "Where the configuration goes on the node.")
            .default("\"/etc/kubernetes/kubeadm-config.yaml\""),
        arg("kubeconfig_dest", Path, "Also write the admin kubeconfig to this path on the controller (mode 0600), for k8s_apply there."),
    ],
)
.also_known_as(&["timonel.kubernetes.kubeadm_init"]);

const ADMIN: &str = "/etc/kubernetes/admin.conf";
const APISERVER: &str = "/etc/kubernetes/manifests/kube-apiserver.yaml";
const CA: &str = "/etc/kubernetes/pki/ca.crt";
const KUBECTL: &str = "kubectl --kubeconfig=/etc/kubernetes/admin.conf";

/// What the node holds of a cluster.
#[derive(Debug, Default)]
struct Node {
    admin_conf: Option<String>,
    apiserver_manifest: bool,
    api_answers: bool,
}

async fn look(host: &HostView<'_>) -> ModResult<Node> {
    let out = host
        .exec(&format!(
            "[ -e {APISERVER} ] && echo manifest; [ -e {ADMIN} ] && echo admin; true"
        ))
        .await?
        .stdout_str();
    let mut node = Node {
        apiserver_manifest: out.lines().any(|l| l == "manifest"),
        ..Node::default()
    };
    if out.lines().any(|l| l == "admin") {
        node.admin_conf = host
            .read(ADMIN)
            .await?
            .map(|b| String::from_utf8_lossy(&b).into_owned());
        node.api_answers = host
            .exec(&format!("{KUBECTL} get --raw=/readyz >/dev/null 2>&1"))
            .await?
            .rc
            == 0;
    }
    Ok(node)
}

/// The cluster CA and a join token still usable for a while, read from an initialised node.
/// A failing token list fails the task: it must not pass for "no token" and make one.
async fn read_back(host: &HostView<'_>) -> ModResult<(String, Option<String>)> {
    let ca = host.exec_ok(&format!("cat {CA}")).await?.stdout_str();
    let soon = host.exec_ok(SOON).await?.stdout_str();
    let list = host
        .exec_ok("kubeadm token list -o json")
        .await?
        .stdout_str();
    let tokens = parse_tokens(&list);
    let token = usable_token(&tokens, soon.trim()).map(|t| t.token.clone());
    Ok((ca, token))
}

/// The `kubeadm init` command line for the arguments.
fn init_command(args: &Args) -> String {
    let mut cmd = String::from("kubeadm init");
    if args.get("config").is_some() {
        push_flags(&mut cmd, args, &[("config_path", "--config")]);
    } else {
        push_flags(
            &mut cmd,
            args,
            &[
                ("control_plane_endpoint", "--control-plane-endpoint"),
                ("pod_network_cidr", "--pod-network-cidr"),
                ("service_cidr", "--service-cidr"),
                ("kubernetes_version", "--kubernetes-version"),
                ("cri_socket", "--cri-socket"),
                (
                    "apiserver_advertise_address",
                    "--apiserver-advertise-address",
                ),
                ("node_name", "--node-name"),
                ("apiserver_cert_extra_sans", "--apiserver-cert-extra-sans"),
            ],
        );
    }
    if args.bool("upload_certs") {
        cmd.push_str(" --upload-certs");
        push_flags(&mut cmd, args, &[("certificate_key", "--certificate-key")]);
    }
    push_flags(
        &mut cmd,
        args,
        &[("ignore_preflight_errors", "--ignore-preflight-errors")],
    );
    cmd
}

/// The configuration file's text: the documents of `config` as YAML (JSON is YAML).
fn config_text(config: &Value, to_yaml: &dyn Fn(&Value) -> String) -> String {
    let docs: Vec<Value> = match config {
        Value::Array(d) => d.clone(),
        Value::Object(m) if m.contains_key("apiVersion") => vec![config.clone()],
        // {InitConfiguration: {...}, ClusterConfiguration: {...}}: one document per kind.
        Value::Object(m) => m
            .iter()
            .map(|(kind, body)| {
                let mut d = body.clone();
                d["kind"] = json!(kind);
                if d.get("apiVersion").is_none() {
                    d["apiVersion"] = json!(if kind == "KubeletConfiguration" {
                        "kubelet.config.k8s.io/v1beta1"
                    } else {
                        "kubeadm.k8s.io/v1beta4"
                    });
                }
                d
            })
            .collect(),
        _ => vec![],
    };
    docs.iter().map(to_yaml).collect::<Vec<_>>().join("---\n")
}

/// What every run returns, from the node's admin.conf, CA and token.
fn returns(
    args: &Args,
    admin_conf: &str,
    ca_pem: &str,
    token: &str,
    certificate_key: Option<&str>,
) -> ModResult<ModuleResult> {
    let hash = ca_cert_hash(ca_pem).map_err(ModuleError::Failed)?;
    let endpoint = args
        .string("control_plane_endpoint")
        .or_else(|| endpoint_of(admin_conf))
        .unwrap_or_default();
    let join = join_command(&endpoint, token, &hash);
    let mut r = ModuleResult::ok()
        .with("api_server_endpoint", endpoint)
        .with("discovery_token_ca_cert_hash", hash)
        .with_secret("token", token)
        .with_secret("join_command", join.clone())
        .with_secret("kubeconfig", admin_conf);
    if let Some(k) = certificate_key {
        r = r.with_secret("certificate_key", k).with_secret(
            "control_plane_join_command",
            format!("{join} --control-plane --certificate-key {k}"),
        );
    }
    Ok(r)
}

/// What `--check` returns for a node not initialised yet.
fn known_after_apply(args: &Args) -> ModuleResult {
    let endpoint = args
        .string("control_plane_endpoint")
        .or_else(|| {
            args.string("apiserver_advertise_address")
                .map(|a| format!("{a}:6443"))
        })
        .unwrap_or_else(|| KNOWN_AFTER_APPLY.into());
    let mut r = ModuleResult::changed()
        .with("api_server_endpoint", endpoint)
        .with("discovery_token_ca_cert_hash", KNOWN_AFTER_APPLY)
        .with("token", KNOWN_AFTER_APPLY)
        .with("join_command", KNOWN_AFTER_APPLY)
        .with("kubeconfig", KNOWN_AFTER_APPLY);
    if args.bool("upload_certs") {
        let key = args
            .string("certificate_key")
            .unwrap_or_else(|| KNOWN_AFTER_APPLY.into());
        r = r
            .with_secret("certificate_key", key)
            .with("control_plane_join_command", KNOWN_AFTER_APPLY);
    }
    r
}

#[async_trait]
impl Module for KubeadmInit {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn plan(&self, ctx: &PlanContext<'_>, args: &Args) -> ModResult<Plan> {
        let plan = plan_node(ctx, args).await?;
        let Some(dest) = args.string("kubeconfig_dest") else {
            return Ok(plan);
        };
        Ok(match plan {
            Plan::Done(r) => match kubeconfig_dest::of(&r) {
                Some(k) if !kubeconfig_dest::up_to_date(&dest, &k) => {
                    let mut preview = r;
                    preview.changed = true;
                    preview.msg = Some(format!(
                        "would write the admin kubeconfig to {dest} on the controller"
                    ));
                    Plan::change(preview, Work::custom(kubeconfig_dest::WriteOnly { dest }))
                }
                _ => Plan::Done(r),
            },
            Plan::Change {
                preview,
                work: Work::Custom(inner),
            } => Plan::change(
                preview,
                Work::custom(kubeconfig_dest::ThenWrite { inner, dest }),
            ),
            other => other,
        })
    }
}

/// The node's plan, before `kubeconfig_dest`.
async fn plan_node(ctx: &PlanContext<'_>, args: &Args) -> ModResult<Plan> {
    let node = look(&ctx.host).await?;
    let key = args.string("certificate_key");
    match (&node.admin_conf, node.apiserver_manifest, node.api_answers) {
        (Some(admin), true, true) => {
            // Initialised: read back what joining needs; renew only what expired.
            let (ca, token) = read_back(&ctx.host).await?;
            let certs_gone = args.bool("upload_certs")
                && key.is_some()
                && ctx
                    .host
                    .exec(&format!(
                        "{KUBECTL} -n kube-system get secret kubeadm-certs -o name"
                    ))
                    .await?
                    .rc
                    != 0;
            if let (Some(t), false) = (&token, certs_gone) {
                return Ok(Plan::Done(returns(args, admin, &ca, t, key.as_deref())?));
            }
            let mut preview = returns(
                args,
                admin,
                &ca,
                token.as_deref().unwrap_or(KNOWN_AFTER_APPLY),
                key.as_deref(),
            )?;
            preview.changed = true;
            let what: Vec<&str> = [
                    token.is_none().then_some("a new join token (the last one expired)"),
                    certs_gone.then_some("the control-plane certificates uploaded again (kubeadm deleted them after two hours)"),
                ]
                .into_iter()
                .flatten()
                .collect();
            preview.msg = Some(format!("would make {}", what.join(" and ")));
            Ok(Plan::change(
                preview,
                Work::custom(Renew {
                    token,
                    upload_certs: certs_gone,
                    admin: admin.clone(),
                    ca,
                }),
            ))
        }
        (None, false, _) => {
            let mut preview = known_after_apply(args);
            preview.msg = Some(format!(
                "would run {}",
                init_command(args).replace(key.as_deref().unwrap_or("\u{0}"), "(hidden)")
            ));
            let config = args
                .get("config")
                .map(|c| config_text(c, &|v| ctx.controller.to_yaml(v)));
            if let (true, Some(text)) = (ctx.diff, &config) {
                let path = args.string("config_path").unwrap_or_default();
                let mut d = FileDiff::new(&path, "", text.clone());
                d.before_header = format!("{path} (absent)");
                preview.diffs.push(d);
            }
            Ok(Plan::change(preview, Work::custom(Init { config })))
        }
        _ => Err(ModuleError::Failed(format!(
            "this node is half initialised: {} but the API server {}; run `kubeadm reset -f` \
                 on it (its cluster is lost), then run this task again",
            if node.apiserver_manifest {
                "kubeadm wrote the control-plane manifests"
            } else {
                "admin.conf exists without the API server's manifest"
            },
            if node.admin_conf.is_some() {
                "does not answer"
            } else {
                "was never set up"
            }
        ))),
    }
}

/// Runs kubeadm init (after writing its configuration), then reads back what it returns.
struct Init {
    config: Option<String>,
}

#[async_trait]
impl Apply for Init {
    async fn apply(
        self: Box<Self>,
        ctx: &ApplyContext<'_>,
        args: &Args,
        _preview: ModuleResult,
    ) -> ModResult<ModuleResult> {
        if let Some(text) = &self.config {
            let path = args.string("config_path").unwrap_or_default();
            let attrs = crate::hostfs::Attrs {
                mode: Some("0600".into()),
                ..Default::default()
            };
            ctx.host
                .write_atomic(&path, text.as_bytes(), &attrs, None)
                .await?;
        }
        let key = args.string("certificate_key").unwrap_or_default();
        ctx.controller.progress("kubeadm init");
        let out = ctx.host.exec(&init_command(args)).await?;
        let (so, se) = (out.stdout_str(), out.stderr_str());
        if out.rc != 0 {
            return Err(ModuleError::Failed(kubeadm_error(
                "kubeadm init",
                &so,
                &se,
                &[&key],
            )));
        }
        // Without a certificate_key argument, kubeadm's generated key is known only now.
        let generated = so
            .lines()
            .skip_while(|l| !l.contains("[upload-certs] Using certificate key:"))
            .nth(1)
            .map(|l| l.trim().to_string());
        let key = args.string("certificate_key").or(generated);
        let admin = ctx
            .host
            .exec_ok(&format!("cat {ADMIN}"))
            .await?
            .stdout_str();
        let (ca, token) = read_back(&ctx.host).await?;
        let token = token
            .ok_or_else(|| ModuleError::Failed("kubeadm init made no usable join token".into()))?;
        let mut r = returns(
            args,
            &admin,
            &ca,
            &token,
            key.filter(|_| args.bool("upload_certs")).as_deref(),
        )?;
        r.changed = true;
        Ok(r)
    }
}

/// A new token and/or the certificates uploaded again, on an initialised node.
struct Renew {
    token: Option<String>,
    upload_certs: bool,
    admin: String,
    ca: String,
}

#[async_trait]
impl Apply for Renew {
    async fn apply(
        self: Box<Self>,
        ctx: &ApplyContext<'_>,
        args: &Args,
        _preview: ModuleResult,
    ) -> ModResult<ModuleResult> {
        let key = args.string("certificate_key");
        let token = match self.token {
            Some(t) => t,
            None => {
                let out = ctx.host.exec("kubeadm token create").await?;
                if out.rc != 0 {
                    return Err(ModuleError::Failed(kubeadm_error(
                        "kubeadm token create",
                        &out.stdout_str(),
                        &out.stderr_str(),
                        &[],
                    )));
                }
                out.stdout_str()
                    .lines()
                    .last()
                    .unwrap_or_default()
                    .trim()
                    .to_string()
            }
        };
        if self.upload_certs {
            let k = key.clone().unwrap_or_default();
            let out = ctx
                .host
                .exec(&format!(
                    "kubeadm init phase upload-certs --upload-certs --certificate-key {}",
                    sh_quote(&k)
                ))
                .await?;
            if out.rc != 0 {
                return Err(ModuleError::Failed(kubeadm_error(
                    "kubeadm init phase upload-certs",
                    &out.stdout_str(),
                    &out.stderr_str(),
                    &[&k, &token],
                )));
            }
        }
        let mut r = returns(args, &self.admin, &self.ca, &token, key.as_deref())?;
        r.changed = true;
        Ok(r)
    }
}
