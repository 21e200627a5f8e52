//! playbooks/addons.yml and teardown.yml against the fake Kubernetes API (and, for the
//! Hetzner resources, the fake Hetzner Cloud API): the add-ons' manifests are the lab's
//! stand-ins (tests/lab/k8s/addons), served over HTTP and pinned by checksum as upstream's
//! are. The plan writes nothing; the run applies the CNI, Hetzner's Secret, cloud controller
//! manager and CSI driver, and Traefik, with the pod network put in their place; a re-run
//! changes nothing; a manifest whose checksum differs fails before anything is applied; and
//! teardown.yml deletes all of it, in the cluster and at Hetzner.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use base64::Engine;
use serde_json::Value;

use crate::hetzner::fake as hcloud_fake;
use crate::k8s_fake::ApiServer;
use crate::support::{Lab, Out};

/// The token the cluster's Hetzner controllers get (must never be printed).
const HCLOUD_TOKEN: &str = hcloud_fake::TOKEN;
const POD_CIDR: &str = "10.32.0.0/16";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The stand-in manifests, served by `python3 -m http.server` on a port of its own.
struct Manifests {
    child: Child,
    url: String,
    dir: PathBuf,
}

impl Manifests {
    fn serve(dir: &Path) -> Manifests {
        let script = root().join("tests/lab/k8s/addons");
        let st = Command::new("bash")
            .arg(&script)
            .arg("make")
            .arg(dir)
            .status()
            .expect("bash runs tests/lab/k8s/addons");
        assert!(st.success(), "tests/lab/k8s/addons make failed");
        let mut child = Command::new("python3")
            .args([
                "-u",
                "-m",
                "http.server",
                "0",
                "--bind",
                "127.0.0.1",
                "--directory",
            ])
            .arg(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 serves the manifests");
        // "Serving HTTP on 127.0.0.1 port 41234 (http://127.0.0.1:41234/) ..."
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().expect("piped"))
            .read_line(&mut line)
            .expect("http.server prints its port");
        let port = line
            .split_whitespace()
            .skip_while(|w| *w != "port")
            .nth(1)
            .and_then(|p| p.parse::<u16>().ok())
            .unwrap_or_else(|| panic!("http.server did not start: {line:?}"));
        Manifests {
            child,
            url: format!("http://127.0.0.1:{port}"),
            dir: dir.to_path_buf(),
        }
    }

    /// The inventory variables that point the roles here, as -e arguments.
    fn vars(&self) -> Vec<String> {
        let out = Command::new("bash")
            .arg(root().join("tests/lab/k8s/addons"))
            .arg("vars")
            .arg(&self.dir)
            .arg(&self.url)
            .output()
            .expect("tests/lab/k8s/addons vars");
        assert!(out.status.success());
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    }
}

impl Drop for Manifests {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs one of the repository's playbooks with the add-on variables, `extra` last (so it
/// overrides), pointed at both fakes.
fn run(t: &Lab, hcloud: &hcloud_fake::Fake, m: &Manifests, playbook: &str, extra: &[&str]) -> Out {
    let playbook = root().join("playbooks").join(playbook);
    let roles = root().join("roles");
    let mut vars = m.vars();
    vars.extend([
        format!(
            "k8s_kubeconfig_dest={}",
            t.path("kube/admin.conf").display()
        ),
        "k8s_infra=hetzner".into(),
        format!("k8s_pod_network_cidr={POD_CIDR}"),
        format!("addons_cache_dir={}", t.path("cache").display()),
        "ingress_replicas=1".into(),
    ]);
    let mut args: Vec<&str> = vec!["run", playbook.to_str().unwrap(), "--no-retry-file"];
    for v in &vars {
        args.extend(["-e", v.as_str()]);
    }
    args.extend_from_slice(extra);
    let out = hcloud.run_with(
        t,
        &args,
        HCLOUD_TOKEN,
        &[("ANSIBLE_ROLES_PATH", roles.to_str().unwrap())],
    );
    for text in [&out.stdout, &out.stderr] {
        assert!(
            !text.contains(HCLOUD_TOKEN),
            "the token was printed:\n{text}"
        );
    }
    out
}

fn get(api: &ApiServer, path: &str) -> Option<Value> {
    api.get(path)
}

/// The writes to the Kubernetes API that were not dry runs.
fn real_writes(api: &ApiServer) -> Vec<String> {
    api.log()
        .into_iter()
        .filter(|r| r.method != "GET" && !r.dry_run)
        .map(|r| r.line())
        .collect()
}

fn cluster(t: &Lab, api: &ApiServer) {
    std::fs::create_dir_all(t.path("kube")).unwrap();
    std::fs::copy(api.kubeconfig(), t.path("kube/admin.conf")).unwrap();
    api.add_node("cp-1", &["control-plane"], true);
    api.add_node("worker-1", &[], true);
}

#[test]
fn addons_planned_applied_unchanged_again_and_torn_down_with_the_hetzner_resources() {
    let api = ApiServer::start_with(&["--rollout-seconds", "0.2", "--namespace-seconds", "0.2"]);
    let hcloud = hcloud_fake::Fake::start();
    let t = Lab::new();
    let m = Manifests::serve(&t.path("standins"));
    cluster(&t, &api);

    // The plan: every add-on object an addition, nothing written to the API.
    let out = run(&t, &hcloud, &m, "addons.yml", &["--check", "--diff"]);
    out.assert_ok();
    for head in [
        "DaemonSet kube-flannel/kube-flannel-ds (absent)",
        "Deployment kube-system/hcloud-cloud-controller-manager (absent)",
        "StorageClass hcloud-volumes (absent)",
        "IngressClass traefik (absent)",
        "Deployment traefik/traefik (absent)",
    ] {
        assert!(out.stdout.contains(head), "{head}:\n{}", out.stdout);
    }
    // The pod network in Flannel's configuration (a JSON string in the diff) and the CCM's.
    for text in [
        format!(r#"\"Network\": \"{POD_CIDR}\""#),
        format!("--cluster-cidr={POD_CIDR}"),
    ] {
        assert!(out.stdout.contains(&text), "{text}:\n{}", out.stdout);
    }
    assert_eq!(real_writes(&api), Vec::<String>::new(), "--check wrote");

    // The run.
    let out = run(&t, &hcloud, &m, "addons.yml", &[]);
    out.assert_ok();
    // The CNI, the Secret, Hetzner's controllers, Traefik (the downloads were the plan's).
    assert_eq!(out.recap("localhost").changed, 4, "{}", out.stdout);
    let cfg = get(
        &api,
        "/api/v1/namespaces/kube-flannel/configmaps/kube-flannel-cfg",
    )
    .unwrap();
    assert!(
        cfg["data"]["net-conf.json"]
            .as_str()
            .unwrap()
            .contains(&format!("\"Network\": \"{POD_CIDR}\"")),
        "{cfg}"
    );
    let ds = get(
        &api,
        "/apis/apps/v1/namespaces/kube-flannel/daemonsets/kube-flannel-ds",
    )
    .unwrap();
    assert_eq!(
        ds["status"]["numberReady"], 2,
        "rolled out on both nodes: {ds}"
    );
    let secret = get(&api, "/api/v1/namespaces/kube-system/secrets/hcloud").unwrap();
    let b64 = |k: &str| {
        String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(secret["data"][k].as_str().unwrap())
                .unwrap(),
        )
        .unwrap()
    };
    assert_eq!(b64("token"), HCLOUD_TOKEN);
    assert_eq!(b64("network"), "k8s");
    let ccm = get(
        &api,
        "/apis/apps/v1/namespaces/kube-system/deployments/hcloud-cloud-controller-manager",
    )
    .unwrap();
    let args = ccm["spec"]["template"]["spec"]["containers"][0]["args"].to_string();
    assert!(
        args.contains(&format!("--cluster-cidr={POD_CIDR}")),
        "{args}"
    );
    assert!(get(
        &api,
        "/apis/storage.k8s.io/v1/storageclasses/hcloud-volumes"
    )
    .is_some());
    let class = get(&api, "/apis/networking.k8s.io/v1/ingressclasses/traefik").unwrap();
    assert_eq!(class["spec"]["controller"], "traefik.io/ingress-controller");
    let traefik = get(&api, "/apis/apps/v1/namespaces/traefik/deployments/traefik").unwrap();
    assert_eq!(
        traefik["spec"]["template"]["spec"]["containers"][0]["image"],
        "docker.io/library/traefik:v3.7.11"
    );
    assert_eq!(traefik["status"]["availableReplicas"], 1, "{traefik}");
    let svc = get(&api, "/api/v1/namespaces/traefik/services/traefik").unwrap();
    assert_eq!(
        svc["metadata"]["annotations"]["load-balancer.hetzner.cloud/name"],
        "k8s-ingress"
    );

    // Again: nothing changes.
    let before = real_writes(&api).len();
    let out = run(&t, &hcloud, &m, "addons.yml", &[]);
    out.assert_ok();
    assert_eq!(out.recap("localhost").changed, 0, "{}", out.stdout);
    assert_eq!(real_writes(&api).len(), before, "a re-run wrote");

    // The Hetzner resources cluster_infra.yml makes (its first play; the servers don't
    // answer SSH here, so the play that waits for them is left out by --limit).
    let infra = root().join("playbooks/cluster_infra.yml");
    t.write("id.pub", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHq7kqz4XIRZ2GJ3Q9m2cH9kZ2b5Z0d8m0bCkq4J0o3T ops@laptop\n");
    let key = format!("ssh_key_file={}", t.path("id").display());
    let out = hcloud.run(
        &t,
        &[
            "run",
            infra.to_str().unwrap(),
            "--no-retry-file",
            "--limit",
            "localhost",
            "-e",
            &key,
            "-e",
            "control_plane_count=3",
        ],
    );
    out.assert_ok();
    for kind in [
        "servers",
        "load_balancers",
        "networks",
        "firewalls",
        "placement_groups",
        "ssh_keys",
    ] {
        assert!(
            !hcloud_list(&hcloud, kind).is_empty(),
            "{kind}: {}",
            out.stdout
        );
    }
    // The application's namespace, as the django role makes it.
    let ns = api.kubectl(&["create", "namespace", "shop"]);
    assert_eq!(ns.code, 0, "{}", ns.stderr);

    // The teardown's plan: deletions shown, nothing written to either API.
    let hcloud_writes = hcloud.writes().len();
    let k8s_writes = real_writes(&api).len();
    let out = run(
        &t,
        &hcloud,
        &m,
        "teardown.yml",
        &["--check", "--diff", "-e", "control_plane_count=3"],
    );
    out.assert_ok();
    for head in [
        "--- before: Namespace shop (live)",
        "--- before: DaemonSet kube-flannel/kube-flannel-ds (live)",
        "--- before: Deployment traefik/traefik (live)",
        "--- before: StorageClass hcloud-volumes (live)",
    ] {
        assert!(out.stdout.contains(head), "{head}:\n{}", out.stdout);
    }
    assert_eq!(
        hcloud.writes().len(),
        hcloud_writes,
        "--check wrote to Hetzner"
    );
    assert_eq!(
        real_writes(&api).len(),
        k8s_writes,
        "--check wrote to the cluster"
    );
    assert!(t.exists("kube/admin.conf"));

    // The teardown: nothing left anywhere.
    let out = run(
        &t,
        &hcloud,
        &m,
        "teardown.yml",
        &["-e", "control_plane_count=3"],
    );
    out.assert_ok();
    for path in [
        "/api/v1/namespaces/shop",
        "/api/v1/namespaces/kube-flannel",
        "/api/v1/namespaces/traefik",
        "/api/v1/namespaces/kube-system/secrets/hcloud",
        "/apis/apps/v1/namespaces/kube-system/deployments/hcloud-cloud-controller-manager",
        "/apis/apps/v1/namespaces/kube-system/daemonsets/hcloud-csi-node",
        "/apis/storage.k8s.io/v1/storageclasses/hcloud-volumes",
        "/apis/networking.k8s.io/v1/ingressclasses/traefik",
        "/apis/rbac.authorization.k8s.io/v1/clusterroles/flannel",
    ] {
        assert_eq!(get(&api, path), None, "{path} is left:\n{}", out.stdout);
    }
    for kind in [
        "servers",
        "load_balancers",
        "networks",
        "firewalls",
        "placement_groups",
        "ssh_keys",
    ] {
        assert_eq!(
            hcloud_list(&hcloud, kind),
            Vec::<Value>::new(),
            "{kind} left:\n{}",
            out.stdout
        );
    }
    assert!(!t.exists("kube/admin.conf"));

    // Again: nothing to delete.
    let out = run(
        &t,
        &hcloud,
        &m,
        "teardown.yml",
        &["-e", "control_plane_count=3"],
    );
    out.assert_ok();
    assert_eq!(out.recap("localhost").changed, 0, "{}", out.stdout);
}

/// The objects of one kind the fake Hetzner API holds (`servers`, `networks`, ...).
fn hcloud_list(hcloud: &hcloud_fake::Fake, kind: &str) -> Vec<Value> {
    let out = Command::new("curl")
        .args([
            "-fsS",
            "-H",
            &format!("Authorization: Bearer {HCLOUD_TOKEN}"),
        ])
        .arg(format!("{}/{kind}", hcloud.endpoint()))
        .output()
        .expect("curl");
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{kind}: {e}: {}", String::from_utf8_lossy(&out.stdout)));
    v[kind].as_array().cloned().unwrap_or_default()
}

#[test]
fn a_manifest_whose_checksum_differs_fails_and_nothing_is_applied() {
    let api = ApiServer::start();
    let hcloud = hcloud_fake::Fake::start();
    let t = Lab::new();
    let m = Manifests::serve(&t.path("standins"));
    cluster(&t, &api);
    let wrong = format!("cni_flannel_checksum=sha256:{}", "0".repeat(64));
    let out = run(&t, &hcloud, &m, "addons.yml", &["-e", &wrong]);
    out.assert_code(2);
    assert!(
        out.stdout.contains(&format!(
            "checksum mismatch for {}/kube-flannel.yml: expected sha256:{}",
            m.url,
            "0".repeat(64)
        )) && out.stdout.contains("nothing was written"),
        "{}",
        out.stdout
    );
    assert_eq!(real_writes(&api), Vec::<String>::new(), "applied anyway");
    let cached: Vec<_> = std::fs::read_dir(t.path("cache"))
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert_eq!(cached, Vec::<std::ffi::OsString>::new(), "a file was kept");
}
