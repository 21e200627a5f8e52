//! Connecting to a Kubernetes API server the way kubernetes.core.k8s does: `kubeconfig` (a
//! path, or the file's content as a mapping) and `context`; or `host` + `api_key` +
//! `ca_cert` + `validate_certs`; then `K8S_AUTH_KUBECONFIG`, `KUBECONFIG`, `~/.kube/config`.
//! A `kubeconfig` path is read on the task's host (the controller, or the host `delegate_to`
//! names, with become: `/etc/kubernetes/admin.conf` on a control-plane node); the client
//! itself always runs on the controller.

use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use serde_json::{json, Value};

use crate::spec::{arg, ArgSpec, ArgType::*};
use crate::{Args, HostView, ModResult, ModuleError};

/// The connection arguments every Kubernetes module takes (kubernetes.core's names).
pub const CONNECTION_ARGS: [ArgSpec; 6] = [
    arg(
        "kubeconfig",
        Raw,
        "Path to a kubeconfig, or its content as a mapping (default: $K8S_AUTH_KUBECONFIG, \
         $KUBECONFIG, ~/.kube/config).",
    ),
    arg("context", Str, "The kubeconfig context to use."),
    arg(
        "host",
        Str,
        "The API server's URL, instead of a kubeconfig.",
    ),
    arg("api_key", Str, "A bearer token for `host`; never printed."),
    arg("ca_cert", Path, "The CA certificate of `host`.").aliases(&["ssl_ca_cert"]),
    arg(
        "validate_certs",
        Bool,
        "Verify the API server's certificate.",
    )
    .default("true")
    .aliases(&["verify_ssl"]),
];

/// A client, and where it points (for error messages; never credentials).
pub struct Cluster {
    pub client: Client,
    pub server: String,
    pub context: String,
}

impl Cluster {
    /// "the API server https://h:6443 (context admin@k)", for errors.
    pub fn named(&self) -> String {
        format!("the API server {} (context {})", self.server, self.context)
    }
}

fn failed(msg: String) -> ModuleError {
    ModuleError::Failed(msg)
}

/// Where the kubeconfig comes from, in kubernetes.core.k8s's order.
async fn kubeconfig(args: &Args, host: &HostView<'_>) -> ModResult<(Kubeconfig, String)> {
    if let Some(host) = args.string("host") {
        let mut cluster = json!({"server": host});
        if let Some(ca) = args.string("ca_cert") {
            cluster["certificate-authority"] = json!(ca);
        }
        if !args.bool("validate_certs") {
            cluster["insecure-skip-tls-verify"] = json!(true);
        }
        let mut user = json!({});
        if let Some(token) = args.string("api_key") {
            user["token"] = json!(token);
        }
        let doc = json!({
            "apiVersion": "v1", "kind": "Config",
            "clusters": [{"name": "timonel", "cluster": cluster}],
            "users": [{"name": "timonel", "user": user}],
            "contexts": [{"name": "timonel", "context": {"cluster": "timonel", "user": "timonel"}}],
            "current-context": "timonel",
        });
        let kc = serde_json::from_value(doc).map_err(|e| failed(format!("host {host}: {e}")))?;
        return Ok((kc, format!("host {host}")));
    }
    match args.get("kubeconfig") {
        Some(Value::Object(m)) => {
            let kc = serde_json::from_value(Value::Object(m.clone()))
                .map_err(|e| failed(format!("the kubeconfig mapping is not a kubeconfig: {e}")))?;
            Ok((kc, "the kubeconfig mapping".into()))
        }
        Some(Value::String(path)) => {
            let text = host
                .read(path)
                .await?
                .ok_or_else(|| failed(format!("the kubeconfig {path} does not exist")))?;
            let kc = Kubeconfig::from_yaml(&String::from_utf8_lossy(&text))
                .map_err(|e| failed(format!("cannot read the kubeconfig {path}: {e}")))?;
            Ok((kc, path.clone()))
        }
        Some(other) => Err(failed(format!(
            "kubeconfig must be a path or a mapping, not {other}"
        ))),
        None => match std::env::var("K8S_AUTH_KUBECONFIG") {
            Ok(path) if !path.is_empty() => read(&path),
            _ => Kubeconfig::read()
                .map(|kc| (kc, "KUBECONFIG or ~/.kube/config".into()))
                .map_err(|e| {
                    failed(format!(
                        "no kubeconfig: give kubeconfig (a path or a mapping) or host, or set \
                         K8S_AUTH_KUBECONFIG ({e})"
                    ))
                }),
        },
    }
}

fn read(path: &str) -> ModResult<(Kubeconfig, String)> {
    let path = shellexpand_home(path);
    Kubeconfig::read_from(&path)
        .map(|kc| (kc, path.clone()))
        .map_err(|e| failed(format!("cannot read the kubeconfig {path}: {e}")))
}

fn shellexpand_home(path: &str) -> String {
    match (path.strip_prefix("~/"), std::env::var("HOME")) {
        (Some(rest), Ok(home)) => format!("{home}/{rest}"),
        _ => path.to_string(),
    }
}

/// A client for the arguments' cluster.
pub async fn connect(args: &Args, host: &HostView<'_>) -> ModResult<Cluster> {
    let (kc, source) = kubeconfig(args, host).await?;
    let context = args
        .string("context")
        .or_else(|| kc.current_context.clone())
        .unwrap_or_default();
    let options = KubeConfigOptions {
        context: args.string("context"),
        ..Default::default()
    };
    let config = Config::from_custom_kubeconfig(kc, &options)
        .await
        .map_err(|e| failed(format!("{source}, context {context:?}: {e}")))?;
    let server = config.cluster_url.to_string();
    let client = Client::try_from(config).map_err(|e| {
        failed(format!(
            "cannot make a client for {server} (context {context}): {e}"
        ))
    })?;
    Ok(Cluster {
        client,
        server: server.trim_end_matches('/').to_string(),
        context,
    })
}
