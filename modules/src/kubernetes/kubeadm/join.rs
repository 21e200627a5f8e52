//! kubeadm_join: a worker or another control-plane node. Done when the node's kubelet.conf
//! (and for a control-plane node its API server manifest) exists and the node is registered;
//! `force_rejoin` repairs a broken node (reset, clean up, join again). In `--check`, values
//! that kubeadm_init can only know after applying are accepted and the join is previewed.

use async_trait::async_trait;

use super::{kubeadm_error, push_flags};
use crate::connection::sh_quote;
use crate::spec::{arg, ArgType::*, ModuleSpec};
use crate::{
    Apply, ApplyContext, Args, ModResult, Module, ModuleError, ModuleResult, Plan, PlanContext,
    Work, KNOWN_AFTER_APPLY,
};

pub struct KubeadmJoin;

static SPEC: ModuleSpec = ModuleSpec::new(
    "kubeadm_join",
    "Join a node to a kubeadm cluster, once: as a worker, or as a control-plane node with the \
     uploaded certificates; force_rejoin repairs a broken node.",
    &[
        arg(
            "api_server_endpoint",
            Str,
            "host:port of the API (kubeadm_init's api_server_endpoint).",
        )
        .required(),
        arg(
            "token",
            Str,
            "A join token (kubeadm_init's token); never printed.",
        )
        .required(),
        arg(
            "discovery_token_ca_cert_hash",
            Str,
            "sha256:... of the cluster CA (kubeadm_init's).",
        )
        .required(),
        arg("control_plane", Bool, "Join as a control-plane node.").default("false"),
        arg(
            "certificate_key",
            Str,
            "The key of the uploaded certificates (control-plane nodes); never printed.",
        ),
        arg(
            "node_name",
            Str,
            "The node's name (default: its host name).",
        ),
        arg("cri_socket", Str, "The container runtime's socket."),
        arg(
            "apiserver_advertise_address",
            Str,
            "A control-plane node's API server address.",
        ),
        arg(
            "ignore_preflight_errors",
            List,
            "Preflight checks to ignore (kubeadm's names).",
        ),
        arg(
            "force_rejoin",
            Bool,
            "Reset the node (kubeadm reset -f, CNI config, iptables) and join again.",
        )
        .default("false"),
    ],
)
.also_known_as(&["timonel.kubernetes.kubeadm_join"]);

const KUBELET_CONF: &str = "/etc/kubernetes/kubelet.conf";
const APISERVER: &str = "/etc/kubernetes/manifests/kube-apiserver.yaml";
/// Written early by a join (discovery); alone, it is what a failed join left.
const CA: &str = "/etc/kubernetes/pki/ca.crt";

/// What `kubeadm reset -f` leaves behind that a new join trips on.
const CLEANUP: &str = "rm -rf /etc/cni/net.d/* /var/lib/cni /etc/kubernetes/kubelet.conf; \
     (iptables -F && iptables -t nat -F && iptables -t mangle -F && iptables -X) 2>/dev/null; true";

fn join_command(args: &Args) -> String {
    let endpoint = args.string("api_server_endpoint").unwrap_or_default();
    let mut cmd = format!("kubeadm join {}", sh_quote(&endpoint));
    push_flags(
        &mut cmd,
        args,
        &[
            ("token", "--token"),
            (
                "discovery_token_ca_cert_hash",
                "--discovery-token-ca-cert-hash",
            ),
        ],
    );
    if args.bool("control_plane") {
        cmd.push_str(" --control-plane");
        push_flags(&mut cmd, args, &[("certificate_key", "--certificate-key")]);
    }
    push_flags(
        &mut cmd,
        args,
        &[
            ("node_name", "--node-name"),
            ("cri_socket", "--cri-socket"),
            (
                "apiserver_advertise_address",
                "--apiserver-advertise-address",
            ),
            ("ignore_preflight_errors", "--ignore-preflight-errors"),
        ],
    );
    cmd
}

/// The secrets that must not reach any message.
fn secrets(args: &Args) -> Vec<String> {
    ["token", "certificate_key"]
        .iter()
        .filter_map(|k| args.string(k))
        .collect()
}

#[async_trait]
impl Module for KubeadmJoin {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn plan(&self, ctx: &PlanContext<'_>, args: &Args) -> ModResult<Plan> {
        let cp = args.bool("control_plane");
        if cp && args.string("certificate_key").is_none() {
            return Err(ModuleError::Failed(
                "kubeadm_join: a control-plane node needs certificate_key (kubeadm_init's, with upload_certs: true)".into(),
            ));
        }
        let out = ctx
            .host
            .exec(&format!(
                "[ -e {KUBELET_CONF} ] && echo kubelet; [ -e {APISERVER} ] && echo manifest; \
                 [ -e {CA} ] && echo ca; true"
            ))
            .await?
            .stdout_str();
        let joined =
            out.lines().any(|l| l == "kubelet") && (!cp || out.lines().any(|l| l == "manifest"));
        let registered = joined && {
            let name = match args.string("node_name") {
                Some(n) => n,
                None => ctx
                    .host
                    .exec_ok("hostname")
                    .await?
                    .stdout_str()
                    .trim()
                    .to_string(),
            };
            ctx.host
                .exec(&format!(
                    "kubectl --kubeconfig={KUBELET_CONF} get node {} -o name >/dev/null 2>&1",
                    sh_quote(&name)
                ))
                .await?
                .rc
                == 0
        };
        let role = if cp { "control-plane node" } else { "worker" };
        if joined && registered && !args.bool("force_rejoin") {
            return Ok(Plan::Done(
                ModuleResult::ok().with_msg(format!("already joined as a {role}")),
            ));
        }
        if joined && !registered && !args.bool("force_rejoin") {
            return Err(ModuleError::Failed(format!(
                "this node has joined ({KUBELET_CONF} exists) but is not registered in the cluster: \
                 set force_rejoin: true to reset it and join again"
            )));
        }
        let pending = ["token", "discovery_token_ca_cert_hash", "certificate_key"]
            .iter()
            .any(|k| args.str(k).is_some_and(|v| v.contains(KNOWN_AFTER_APPLY)));
        let has = |what: &str| out.lines().any(|l| l == what);
        // A failed join (swap on, a wrong key) leaves the CA and kubeadm's preflight then
        // refuses the node: nothing of a working node is lost by resetting it first.
        let leftovers = !joined && has("ca");
        let reset = has("kubelet") || has("manifest") || leftovers;
        let endpoint = args.string("api_server_endpoint").unwrap_or_default();
        let first = if leftovers {
            "reset what a failed join left on this node and "
        } else if reset {
            "reset this node and "
        } else {
            ""
        };
        let mut msg = format!("would {first}join {endpoint} as a {role}");
        if pending {
            msg.push_str(" (with the token kubeadm_init makes: known after apply)");
        }
        let preview = ModuleResult::changed().with_msg(msg);
        let done = format!("{first}joined {endpoint} as a {role}");
        Ok(Plan::change(preview, Work::custom(Join { reset, done })))
    }
}

/// Resets the node first when it holds an old join, then joins.
struct Join {
    reset: bool,
    /// What the result says once joined.
    done: String,
}

#[async_trait]
impl Apply for Join {
    async fn apply(
        self: Box<Self>,
        ctx: &ApplyContext<'_>,
        args: &Args,
        _preview: ModuleResult,
    ) -> ModResult<ModuleResult> {
        let hide = secrets(args);
        let hide: Vec<&str> = hide.iter().map(String::as_str).collect();
        if self.reset {
            ctx.controller.progress("kubeadm reset");
            let out = ctx
                .host
                .exec(&format!("kubeadm reset -f && {{ {CLEANUP}; }}"))
                .await?;
            if out.rc != 0 {
                return Err(ModuleError::Failed(kubeadm_error(
                    "kubeadm reset",
                    &out.stdout_str(),
                    &out.stderr_str(),
                    &hide,
                )));
            }
        }
        ctx.controller.progress("kubeadm join");
        let out = ctx.host.exec(&join_command(args)).await?;
        if out.rc != 0 {
            return Err(ModuleError::Failed(kubeadm_error(
                "kubeadm join",
                &out.stdout_str(),
                &out.stderr_str(),
                &hide,
            )));
        }
        Ok(ModuleResult::changed().with_msg(self.done))
    }
}
