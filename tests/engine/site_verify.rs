//! site.yml's verification play (`--tags verify`) against the fake Kubernetes API: the
//! application is checked over HTTP through the ingress only where the ingress controller's
//! Service has an address, with the Ingress's host name; where it has none, or where the
//! lab says why not (site_http_check_skip), the check is skipped with that reason. The check
//! itself (playbooks/tasks/http_check.yml) runs against the real application in
//! tests/ssh/django.rs.

use std::path::PathBuf;
use std::time::Duration;

use crate::k8s_fake::ApiServer;
use crate::support::{task_output, Lab, Out};

/// What verification reads: the application's Deployment and Ingress, Traefik's Service.
const OBJECTS: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Namespace
metadata: {name: traefik}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: "registry.example.com/shop/web:1.0"}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: shop}
spec:
  rules:
    - host: shop.example.com
      http:
        paths:
          - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
---
apiVersion: v1
kind: Service
metadata: {name: traefik, namespace: traefik}
spec:
  type: LoadBalancer
  selector: {app: traefik}
  ports: [{name: web, port: 80, targetPort: 8000}]
"#;

fn site() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../playbooks/site.yml")
}

fn verify(t: &Lab, api: &ApiServer, extra: &[&str]) -> Out {
    let kubeconfig = format!("k8s_kubeconfig_dest={}", api.kubeconfig().display());
    let site = site();
    let mut args = vec![
        "run",
        site.to_str().unwrap(),
        "-i",
        "inventory.ini",
        "--tags",
        "verify",
        "--no-retry-file",
        "-e",
        kubeconfig.as_str(),
    ];
    args.extend_from_slice(extra);
    t.run(&args)
}

fn service_reads(api: &ApiServer) -> usize {
    api.log()
        .iter()
        .filter(|r| r.path.starts_with("/api/v1/namespaces/traefik/services"))
        .count()
}

#[test]
fn verification_checks_the_application_through_the_ingress_only_where_it_has_an_address() {
    let api = ApiServer::start_with(&["--rollout-seconds", "0.2", "--namespace-seconds", "0.2"]);
    let t = Lab::new();
    // A cluster without nodes in the inventory: the node count check compares 0 with 0.
    t.write(
        "inventory.ini",
        "localhost ansible_connection=local\n[k8s_control_plane]\n[k8s_workers]\n",
    );
    let applied = api.kubectl_stdin(&["apply", "-f", "-"], OBJECTS);
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    api.wait_for(
        "/apis/apps/v1/namespaces/shop/deployments/web",
        Duration::from_secs(30),
        |d| d["status"]["availableReplicas"] == 1,
    );

    // The lab says why not: nothing else is asked.
    let reads = service_reads(&api);
    let why = "the lab's Kubernetes API server is simulated: no pod serves the application";
    let skip = serde_json::json!({ "site_http_check_skip": why }).to_string();
    let out = verify(&t, &api, &["-e", "k8s_infra=none", "-e", &skip]);
    out.assert_ok();
    assert_eq!(
        task_output(&out.stdout, "No HTTP check of the application"),
        format!("ok: [localhost] => {{\n    \"msg\": \"{why}\"\n}}")
    );
    assert_eq!(service_reads(&api), reads, "{}", out.stdout);

    // A cluster that gives LoadBalancer Services no address: skipped, saying so.
    let out = verify(&t, &api, &["-e", "k8s_infra=none"]);
    out.assert_ok();
    assert_eq!(
        task_output(&out.stdout, "No HTTP check through the ingress"),
        "ok: [localhost] => {\n    \"msg\": \"the Service traefik/traefik has no external \
         address (status.loadBalancer.ingress is empty: nothing in this cluster gives \
         LoadBalancer Services one)\"\n}"
    );
    assert_eq!(
        task_output(&out.stdout, "The application through the ingress"),
        "skipping: [localhost]"
    );
    assert_eq!(service_reads(&api), reads + 1, "read once, not waited for");

    // On Hetzner the cloud controller manager gives it its load balancer's address: the check
    // goes there with the Ingress's host name (192.0.2.1, TEST-NET-1, answers nothing).
    let patched = api.kubectl(&[
        "-n",
        "traefik",
        "patch",
        "service",
        "traefik",
        "--subresource=status",
        "--type=merge",
        "-p",
        r#"{"status":{"loadBalancer":{"ingress":[{"ip":"192.0.2.1"}]}}}"#,
    ]);
    assert_eq!(patched.code, 0, "{}", patched.stderr);
    let out = verify(
        &t,
        &api,
        &["-e", "http_check_retries=0", "-e", "http_check_timeout=1"],
    );
    out.assert_code(2);
    assert!(
        out.stdout.contains("included: ")
            && out.stdout.contains("tasks/http_check.yml for localhost"),
        "{}",
        out.stdout
    );
    let failed = task_output(
        &out.stdout,
        "The application is ready (/healthz answers 200)",
    );
    assert!(
        failed.starts_with("[ERROR]: Task failed: Status code was -1 and not [200]")
            && failed.contains("\nfatal: [localhost]: FAILED! =>")
            && failed.contains(r#""url": "http://192.0.2.1/healthz""#),
        "{failed}"
    );
    assert_eq!(
        task_output(&out.stdout, "No HTTP check through the ingress"),
        "skipping: [localhost]"
    );
}
