//! playbooks/site.yml on lab hosts: the HA cluster of kubernetes.yml (two control-plane nodes
//! behind their own API load balancer, one worker; see kubeadm_cluster.rs for what the lab
//! simulates), then the Django application deployed from the controller through the load
//! balancer published on a loopback port, then the verification play. A second run changes
//! nothing anywhere. The infrastructure play is skipped by k8s_infra=none, as in the lab.

use std::thread;
use std::time::Instant;

use crate::kubeadm_cluster::{
    cluster_containers, fresh, load_balancer, run_playbook, serve_repo, write_inventory,
};
use crate::kubeadm_sim::{json, ok, step, MIN};
use crate::lab::lab;
use crate::support::{Lab, Out};

const CPS: [(&str, u16); 2] = [("t-site-cp1", 22731), ("t-site-cp2", 22732)];
const WORKERS: [(&str, u16); 1] = [("t-site-w1", 22734)];
/// The API's load balancer, and its port on this machine's loopback for the controller.
const LB: &str = "t-site-lb";
const LB_PORT: u16 = 22730;
const CERT_KEY: &str = "3c1e9d7a4f3b6c0e1d2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e8f2b";

fn all_hosts() -> Vec<(&'static str, u16)> {
    CPS.iter().chain(WORKERS.iter()).copied().collect()
}

fn inventory(t: &Lab) {
    write_inventory(
        t,
        &CPS,
        &WORKERS,
        LB,
        &format!(
            "k8s_infra=none\nk8s_certificate_key={CERT_KEY}\n\
             k8s_api_controller_url=https://127.0.0.1:{LB_PORT}\ndjango_credentials_dir={}\n",
            t.path("credentials").display()
        ),
    );
}

fn site(t: &Lab, extra: &[&str]) -> Out {
    let out = run_playbook(t, "site.yml", extra);
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
    json(&ok(
        CPS[0],
        &format!("sudo kubectl --kubeconfig /etc/kubernetes/admin.conf -n shop get {what} -o json"),
        MIN,
    ))
}

#[test]
fn site_builds_the_cluster_deploys_django_and_changes_nothing_again() {
    let started = Instant::now();
    let t = Lab::new();
    let _cleanup = cluster_containers(&all_hosts(), LB);
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
    inventory(&t);
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

    // Again: nothing changes, on the nodes or in the cluster.
    let out = site(&t, &[]);
    out.assert_ok();
    for h in all_hosts().into_iter().map(|h| h.0).chain(["localhost"]) {
        assert_eq!(out.recap(h).changed, 0, "{h}\n{}", out.stdout);
    }
    step(started, "second run changed nothing");
}
