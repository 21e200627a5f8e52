//! playbooks/site.yml on lab hosts: the HA cluster of kubernetes.yml (two control-plane nodes
//! behind their own API load balancer, one worker; see kubeadm_cluster.rs for what the lab
//! simulates), the add-ons of addons.yml (the CNI and Traefik, from the lab's stand-in
//! manifests, tests/lab/k8s/addons, downloaded over HTTP and checked against their pinned
//! checksums), then the Django application deployed from the controller through the load
//! balancer published on a loopback port, then the verification play. A second run changes
//! nothing anywhere. The infrastructure play (and Hetzner's add-ons) are skipped by
//! k8s_infra=none, as in the lab. Then teardown.yml: its plan changes nothing, the run
//! deletes the application and the add-ons, resets every node and removes the kubeconfig, and
//! a second teardown changes nothing.

use std::process::Command;
use std::thread;
use std::time::Instant;

use crate::kubeadm_cluster::{
    cluster_containers, fresh, load_balancer, run_playbook, serve_repo, write_inventory, Containers,
};
use crate::kubeadm_sim::{json, ok, ssh, step, MIN};
use crate::lab::lab;
use crate::support::{Lab, Out};

const CPS: [(&str, u16); 2] = [("t-site-cp1", 22731), ("t-site-cp2", 22732)];
const WORKERS: [(&str, u16); 1] = [("t-site-w1", 22734)];
/// The API's load balancer, and its port on this machine's loopback for the controller.
const LB: &str = "t-site-lb";
const LB_PORT: u16 = 22730;
/// The lab container serving the add-ons' stand-in manifests, on this loopback port.
const ADDONS: &str = "t-site-addons";
const ADDONS_PORT: u16 = 22739;
const CERT_KEY: &str = "3c1e9d7a4f3b6c0e1d2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e8f2b";

fn all_hosts() -> Vec<(&'static str, u16)> {
    CPS.iter().chain(WORKERS.iter()).copied().collect()
}

fn addons_script() -> String {
    format!("{}/../tests/lab/k8s/addons", env!("CARGO_MANIFEST_DIR"))
}

/// The stand-ins made and served; the inventory variables that point the roles at them.
fn serve_addons(t: &Lab) -> String {
    let dir = t.path("addons").display().to_string();
    let port = ADDONS_PORT.to_string();
    let out = Command::new("bash")
        .args([&addons_script(), "serve", ADDONS, &port, &dir])
        .output()
        .expect("bash runs tests/lab/k8s/addons");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let url = format!("http://127.0.0.1:{ADDONS_PORT}");
    let out = Command::new("bash")
        .args([&addons_script(), "vars", &dir, &url])
        .output()
        .expect("tests/lab/k8s/addons vars");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn inventory(t: &Lab, addons: &str) {
    write_inventory(
        t,
        &CPS,
        &WORKERS,
        LB,
        &format!(
            "k8s_infra=none\nk8s_certificate_key={CERT_KEY}\n\
             k8s_api_controller_url=https://127.0.0.1:{LB_PORT}\ndjango_credentials_dir={}\n\
             addons_cache_dir={}\n{addons}",
            t.path("credentials").display(),
            t.path("addons-cache").display()
        ),
    );
}

fn site(t: &Lab, extra: &[&str]) -> Out {
    playbook(t, "site.yml", extra)
}

fn playbook(t: &Lab, name: &str, extra: &[&str]) -> Out {
    let out = run_playbook(t, name, extra);
    // The Django secret key exists once the django role ran.
    let secret_key = std::fs::read_to_string(t.path("credentials/django_secret_key"))
        .unwrap_or_else(|_| CERT_KEY.to_string());
    for secret in [CERT_KEY, secret_key.trim_end(), "client-key-data"] {
        assert!(
            !out.stdout.contains(secret) && !out.stderr.contains(secret),
            "a secret was printed:\n{}",
            out.stdout
        );
    }
    out
}

/// The first result line of the task named `task`.
fn result<'a>(out: &'a Out, task: &str) -> &'a str {
    let header = format!("TASK [{task}]");
    let mut lines = out.stdout.lines().skip_while(|l| !l.starts_with(&header));
    lines.nth(1).unwrap_or_default()
}

/// An object of the application, as the cluster's own kubectl on the first node shows it.
fn get(what: &str) -> serde_json::Value {
    get_in("shop", what)
}

fn get_in(namespace: &str, what: &str) -> serde_json::Value {
    json(&ok(
        CPS[0],
        &format!(
            "sudo kubectl --kubeconfig /etc/kubernetes/admin.conf -n {namespace} get {what} -o json"
        ),
        MIN,
    ))
}

/// Whether the cluster's kubectl on the first node finds `what` in `namespace`.
fn exists_in(namespace: &str, what: &str) -> bool {
    ssh(
        CPS[0],
        &format!(
            "sudo kubectl --kubeconfig /etc/kubernetes/admin.conf -n {namespace} get {what} -o name"
        ),
        MIN,
    )
    .code
        == 0
}

#[test]
fn site_builds_the_cluster_deploys_django_and_changes_nothing_again() {
    let started = Instant::now();
    let t = Lab::new();
    let _cleanup = cluster_containers(&all_hosts(), LB);
    let _addons = Containers(vec![ADDONS]);
    lab(&["image"]);
    serve_repo();
    let hosts: Vec<_> = all_hosts()
        .into_iter()
        .map(|(n, p)| thread::spawn(move || fresh(n, p)))
        .collect();
    for h in hosts {
        h.join().unwrap();
    }
    load_balancer(LB, &CPS, Some(LB_PORT));
    let addons = serve_addons(&t);
    inventory(&t, &addons);
    step(started, "hosts up");

    // The plan on fresh hosts: the application waits for a cluster, nothing is made.
    let out = site(&t, &["--check", "--diff"]);
    out.assert_ok();
    assert!(
        out.stdout
            .contains("admin.conf does not exist yet: kubeadm_init writes it"),
        "{}",
        out.stdout
    );
    assert!(!t.exists("kube/admin.conf") && !t.exists("credentials"));
    step(started, "--check --diff planned");

    let out = site(&t, &[]);
    out.assert_ok();
    for h in all_hosts() {
        assert!(out.recap(h.0).changed > 0, "{}: {}", h.0, out.stdout);
    }
    assert!(out.recap("localhost").changed > 0, "{}", out.stdout);
    for task in [
        "Every node of the inventory is in the cluster",
        "Every replica of the Deployment is available",
    ] {
        assert_eq!(result(&out, task), "ok: [localhost]", "{}", out.stdout);
    }
    step(
        started,
        "site.yml built the cluster and deployed the application",
    );

    // The controller's kubeconfig: the admin one, through the published port, the
    // certificate checked for the endpoint's name; owner-only like the admin one.
    let controller = t.read("kube/controller.conf");
    assert!(
        controller.contains(&format!("server: https://127.0.0.1:{LB_PORT}"))
            && controller.contains(&format!("tls-server-name: {LB}")),
        "{controller}"
    );
    assert_eq!(t.mode("kube/controller.conf") & 0o777, 0o600);

    // The application, as the cluster holds it.
    let d = get("deployment web");
    assert_eq!(d["spec"]["replicas"], 3, "{d}");
    assert_eq!(d["status"]["availableReplicas"], 3, "rolled out: {d}");
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["image"],
        "registry.example.com/shop/web:1.0"
    );
    assert_eq!(get("job web-migrate-1-0")["status"]["succeeded"], 1);
    assert_eq!(
        get("statefulset web-postgres")["status"]["readyReplicas"],
        1
    );
    for what in [
        "service web",
        "ingress web",
        "hpa web",
        "secret web-secrets",
    ] {
        assert_eq!(get(what)["metadata"]["namespace"], "shop", "{what}");
    }
    let nodes = json(&ok(
        CPS[0],
        "sudo kubectl --kubeconfig /etc/kubernetes/admin.conf get nodes -o json",
        MIN,
    ));
    assert_eq!(nodes["items"].as_array().map(Vec::len), Some(3), "{nodes}");
    // Every node Ready: the CNI's DaemonSet runs (the simulated kubelet reports
    // NetworkPluginNotReady until one mounting /etc/cni/net.d exists).
    for n in nodes["items"].as_array().unwrap() {
        let ready = n["status"]["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["type"] == "Ready" && c["status"] == "True");
        assert!(ready, "not Ready: {n}");
    }

    // The add-ons: Flannel (its stand-in) for the pod network, Traefik for the Ingress class;
    // Hetzner's controllers only with k8s_infra=hetzner.
    let flannel = get_in("kube-flannel", "daemonset kube-flannel-ds");
    assert_eq!(flannel["status"]["numberReady"], 3, "{flannel}");
    let cfg = get_in("kube-flannel", "configmap kube-flannel-cfg");
    assert!(
        cfg["data"]["net-conf.json"]
            .as_str()
            .unwrap_or_default()
            .contains("\"Network\": \"10.244.0.0/16\""),
        "{cfg}"
    );
    let traefik = get_in("traefik", "deployment traefik");
    assert_eq!(
        traefik["status"]["availableReplicas"], traefik["spec"]["replicas"],
        "{traefik}"
    );
    let class = get_in("default", "ingressclass traefik");
    assert_eq!(class["spec"]["controller"], "traefik.io/ingress-controller");
    assert!(!exists_in("kube-system", "secret hcloud"));
    assert!(t.exists("addons-cache"));

    // Again: nothing changes, on the nodes or in the cluster.
    let out = site(&t, &[]);
    out.assert_ok();
    for h in all_hosts().into_iter().map(|h| h.0).chain(["localhost"]) {
        assert_eq!(out.recap(h).changed, 0, "{h}\n{}", out.stdout);
    }
    step(started, "second run changed nothing");

    // Teardown's plan: what it would delete and reset, nothing done.
    let out = playbook(&t, "teardown.yml", &["--check", "--diff"]);
    out.assert_ok();
    for shown in [
        "--- before: Namespace shop (live)",
        "--- before: DaemonSet kube-flannel/kube-flannel-ds (live)",
        "--- before: Deployment traefik/traefik (live)",
        "kubeadm reset -f (the node is in a cluster",
    ] {
        assert!(out.stdout.contains(shown), "{shown}:\n{}", out.stdout);
    }
    for h in all_hosts() {
        // The reset it would run, counted as the node's one change.
        assert_eq!(out.recap(h.0).changed, 1, "{}: {}", h.0, out.stdout);
    }
    assert!(exists_in("shop", "deployment web"));
    assert!(t.exists("kube/admin.conf"));
    step(started, "teardown --check --diff planned");

    // The cluster's part first, checked while the API still answers...
    let out = playbook(&t, "teardown.yml", &["--tags", "app,addons"]);
    out.assert_ok();
    assert!(!exists_in("default", "namespace shop"), "{}", out.stdout);
    assert!(!exists_in("default", "namespace kube-flannel"));
    assert!(!exists_in("default", "namespace traefik"));
    assert!(!exists_in("default", "ingressclass traefik"));
    assert!(!exists_in("default", "clusterrole flannel"));
    // ... then all of it: every node reset, the kubeconfig gone.
    let out = playbook(&t, "teardown.yml", &[]);
    out.assert_ok();
    for h in all_hosts() {
        assert!(out.recap(h.0).changed > 0, "{}: {}", h.0, out.stdout);
        let left = ok(
            h,
            "sudo sh -c 'find /etc/kubernetes /etc/cni/net.d -type f 2>/dev/null; pgrep -af [f]ake_apiserver || true'",
            MIN,
        );
        assert_eq!(left.trim(), "", "{}: left after teardown", h.0);
    }
    assert!(!t.exists("kube/admin.conf") && !t.exists("kube/controller.conf"));
    let out = playbook(&t, "teardown.yml", &[]);
    out.assert_ok();
    for h in all_hosts().into_iter().map(|h| h.0).chain(["localhost"]) {
        assert_eq!(out.recap(h).changed, 0, "{h}\n{}", out.stdout);
    }
    step(started, "teardown left nothing, and again changed nothing");
}
