//! The fake Kubernetes API server (tests/k8s/fake_apiserver.py) that k8s_apply and the
//! simulated kubeadm cluster use as their cluster's API, checked by clients nobody here wrote:
//! kubectl (the default one, and every versioned kubectl next to it) and the official Python
//! client (official_client_accepts_the_fake). Each test starts a fake of its own.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use crate::k8s_fake::{self, k8s_script, kubectl_versions, run_bounded, ApiServer, CLIENT_TIMEOUT};
use crate::support::Out;
use serde_json::Value;

const APP: &str = r#"apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: shop
data:
  DJANGO_SETTINGS_MODULE: shop.settings
---
apiVersion: v1
kind: Secret
metadata:
  name: creds
  namespace: shop
stringData:
  password: s3cret
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels: {app: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: registry.example/shop:1.0
        ports:
        - containerPort: 8000
        env:
        - name: DJANGO_SETTINGS_MODULE
          valueFrom:
            configMapKeyRef: {name: settings, key: DJANGO_SETTINGS_MODULE}
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
spec:
  selector: {app: web}
  ports:
  - port: 80
    targetPort: 8000
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
  namespace: shop
spec:
  rules:
  - host: shop.example
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service: {name: web, port: {number: 80}}
---
apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
  namespace: shop
spec:
  backoffLimit: 2
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: migrate
        image: registry.example/shop-migrate:1.0
        command: [python, manage.py, migrate]
"#;

/// What `kubectl apply --server-side -f app.yaml` prints, in the manifest's order.
const APPLIED: [&str; 7] = [
    "namespace/shop serverside-applied",
    "configmap/settings serverside-applied",
    "secret/creds serverside-applied",
    "deployment.apps/web serverside-applied",
    "service/web serverside-applied",
    "ingress.networking.k8s.io/web serverside-applied",
    "job.batch/migrate serverside-applied",
];

const DEPLOY: &str = "/apis/apps/v1/namespaces/shop/deployments/web";

/// Another manager's view of the Deployment: five replicas.
const SCALER: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  replicas: 5
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: registry.example/shop:1.0
"#;

const CRD: &str = r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: backups.ops.example.com
spec:
  group: ops.example.com
  scope: Namespaced
  names: {plural: backups, singular: backup, kind: Backup, shortNames: [bk]}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [schedule]
            properties:
              schedule: {type: string}
              keep: {type: integer}
"#;

fn app_with_image(tag: &str) -> String {
    APP.replace(
        "image: registry.example/shop:1.0",
        &format!("image: registry.example/shop:{tag}"),
    )
}

#[track_caller]
fn ok(out: &Out) -> &str {
    assert_eq!(
        out.code, 0,
        "stdout: {}\nstderr: {}",
        out.stdout, out.stderr
    );
    &out.stdout
}

#[track_caller]
fn fails(out: &Out, code: i32, stderr_has: &str) {
    assert_eq!(
        out.code, code,
        "stdout: {}\nstderr: {}",
        out.stdout, out.stderr
    );
    assert!(
        out.stderr.contains(stderr_has),
        "stderr lacks {stderr_has:?}:\n{}",
        out.stderr
    );
}

fn lines(s: &str) -> Vec<&str> {
    s.lines().collect()
}

fn json(out: &Out) -> Value {
    serde_json::from_str(ok(out)).unwrap_or_else(|e| panic!("{e}: {}", out.stdout))
}

/// The fieldsV1 of one manager's entry (operation Apply or Update).
fn owned<'a>(obj: &'a Value, manager: &str, operation: &str) -> Option<&'a Value> {
    obj["metadata"]["managedFields"]
        .as_array()?
        .iter()
        .find(|e| e["manager"] == manager && e["operation"] == operation)
        .map(|e| &e["fieldsV1"])
}

/// kind/name -> resourceVersion for everything the manifest made.
fn versions(fake: &ApiServer) -> BTreeMap<String, String> {
    let v = json(&fake.kubectl(&[
        "get",
        "-n",
        "shop",
        "configmaps,secrets,deployments,services,ingresses,jobs",
        "-o",
        "json",
    ]));
    let mut out = BTreeMap::new();
    for item in v["items"].as_array().unwrap() {
        out.insert(
            format!(
                "{}/{}",
                item["kind"].as_str().unwrap(),
                item["metadata"]["name"].as_str().unwrap()
            ),
            item["metadata"]["resourceVersion"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let ns = json(&fake.kubectl(&["get", "namespace", "shop", "-o", "json"]));
    out.insert(
        "Namespace/shop".into(),
        ns["metadata"]["resourceVersion"].as_str().unwrap().into(),
    );
    out
}

fn settled(fake: &ApiServer) {
    let t = Duration::from_secs(20);
    fake.wait_for(DEPLOY, t, |d| d["status"]["availableReplicas"] == 2);
    fake.wait_for("/apis/batch/v1/namespaces/shop/jobs/migrate", t, |j| {
        j["status"]["succeeded"] == 1
    });
}

#[test]
fn kubectl_server_side_apply_creates_every_kind_and_a_second_apply_changes_nothing() {
    let fake = ApiServer::start_with(&["--rollout-seconds", "0.3", "--job-seconds", "0.3"]);
    fake.write("app.yaml", APP);
    let out = fake.kubectl(&["apply", "--server-side", "-f", "app.yaml"]);
    assert_eq!(lines(ok(&out)), APPLIED);

    // What kubectl sent: one server-side apply per object, each creating it.
    let patches: Vec<_> = fake
        .log()
        .into_iter()
        .filter(|r| r.method == "PATCH")
        .collect();
    assert_eq!(patches.len(), 7, "{patches:?}");
    for p in &patches {
        assert_eq!(p.content_type, "application/apply-patch+yaml", "{p:?}");
        assert!(p.query.contains("fieldManager=kubectl"), "{p:?}");
        assert_eq!((p.status, p.dry_run), (201, false), "{p:?}");
    }

    // The objects as the API server keeps them: server-set and defaulted fields included.
    let d = json(&fake.kubectl(&["get", "-n", "shop", "deployment", "web", "-o", "json"]));
    assert_eq!(d["spec"]["replicas"], 2);
    assert_eq!(d["spec"]["strategy"]["type"], "RollingUpdate");
    assert_eq!(d["spec"]["revisionHistoryLimit"], 10);
    assert_eq!(d["spec"]["progressDeadlineSeconds"], 600);
    let c = &d["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c["image"], "registry.example/shop:1.0");
    assert_eq!(c["imagePullPolicy"], "IfNotPresent");
    assert_eq!(c["terminationMessagePath"], "/dev/termination-log");
    assert_eq!(c["ports"][0]["protocol"], "TCP");
    assert_eq!(d["metadata"]["generation"], 1);
    assert!(
        d["metadata"]["uid"].as_str().is_some_and(|u| u.len() == 36),
        "{d}"
    );
    assert!(
        d["metadata"].get("managedFields").is_none(),
        "kubectl hides them: {d}"
    );
    let stored = fake.get(DEPLOY).unwrap();
    let mine = owned(&stored, "kubectl", "Apply").expect("kubectl's apply entry");
    assert_eq!(mine["f:spec"]["f:replicas"], serde_json::json!({}));
    assert!(
        mine["f:spec"].get("f:strategy").is_none(),
        "defaults are nobody's: {mine}"
    );
    let port = &mine["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"web\"}"]
        ["f:ports"]["k:{\"containerPort\":8000,\"protocol\":\"TCP\"}"];
    assert_eq!(port, &serde_json::json!({".": {}, "f:containerPort": {}}));

    let s = json(&fake.kubectl(&["get", "-n", "shop", "secret", "creds", "-o", "json"]));
    assert_eq!(s["data"]["password"], "czNjcmV0");
    assert_eq!(s["type"], "Opaque");
    assert!(s.get("stringData").is_none(), "{s}");
    let svc = json(&fake.kubectl(&["get", "-n", "shop", "service", "web", "-o", "json"]));
    assert_eq!(svc["spec"]["type"], "ClusterIP");
    assert_eq!(svc["spec"]["sessionAffinity"], "None");
    let ip = svc["spec"]["clusterIP"].as_str().unwrap();
    assert!(ip.starts_with("10.96.") && ip != "10.96.0.1", "{ip}");
    assert_eq!(svc["spec"]["clusterIPs"], serde_json::json!([ip]));
    let ns = json(&fake.kubectl(&["get", "namespace", "shop", "-o", "json"]));
    assert_eq!(
        ns["metadata"]["labels"]["kubernetes.io/metadata.name"],
        "shop"
    );
    assert_eq!(ns["status"]["phase"], "Active");
    let job = json(&fake.kubectl(&["get", "-n", "shop", "job", "migrate", "-o", "json"]));
    let uid = job["metadata"]["uid"].as_str().unwrap();
    assert_eq!(
        job["spec"]["selector"]["matchLabels"]["batch.kubernetes.io/controller-uid"],
        uid
    );

    // Once the controllers are done, applying the same manifest again changes nothing.
    settled(&fake);
    let before = versions(&fake);
    let writes = fake.writes().len();
    assert_eq!(
        lines(ok(&fake.kubectl(&[
            "apply",
            "--server-side",
            "-f",
            "app.yaml"
        ]))),
        APPLIED
    );
    assert_eq!(versions(&fake), before);
    let again: Vec<String> = fake.writes()[writes..].to_vec();
    assert_eq!(again.len(), 7, "{again:?}");
    assert!(
        again
            .iter()
            .all(|w| w.starts_with("PATCH ") && w.ends_with(" 200")),
        "{again:?}"
    );

    // The human view (a Table from the server).
    let table = fake.kubectl(&["get", "-n", "shop", "deployments"]);
    let rows = lines(ok(&table));
    assert_eq!(
        rows[0].split_whitespace().collect::<Vec<_>>(),
        ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    );
    assert_eq!(
        rows[1].split_whitespace().take(4).collect::<Vec<_>>(),
        ["web", "2/2", "2", "2"]
    );
}

#[test]
fn kubectl_diff_server_side_shows_only_the_edit_and_dry_runs_persist_nothing() {
    let fake = ApiServer::start_with(&["--rollout-seconds", "0.3", "--job-seconds", "0.3"]);
    fake.write("app.yaml", APP);
    fake.write("edited.yaml", &app_with_image("1.1"));
    ok(&fake.kubectl(&["apply", "--server-side", "-f", "app.yaml"]));
    settled(&fake);
    let rv = fake.get(DEPLOY).unwrap()["metadata"]["resourceVersion"].clone();

    let same = fake.kubectl(&["diff", "--server-side", "-f", "app.yaml"]);
    assert_eq!(
        (same.code, same.stdout.as_str()),
        (0, ""),
        "{}",
        same.stderr
    );

    let diff = fake.kubectl(&["diff", "--server-side", "-f", "edited.yaml"]);
    assert_eq!(diff.code, 1, "{}{}", diff.stdout, diff.stderr);
    let changed: Vec<&str> = diff
        .stdout
        .lines()
        .filter(|l| {
            (l.starts_with('+') || l.starts_with('-'))
                && !l.starts_with("+++")
                && !l.starts_with("---")
        })
        .collect();
    assert_eq!(
        changed,
        [
            "-  generation: 1",
            "+  generation: 2",
            "-        image: registry.example/shop:1.0",
            "+        image: registry.example/shop:1.1",
        ],
        "{}",
        diff.stdout
    );
    assert!(
        diff.stdout.contains("apps.v1.Deployment.shop.web"),
        "{}",
        diff.stdout
    );

    let dry = fake.kubectl(&[
        "apply",
        "--server-side",
        "--dry-run=server",
        "-f",
        "edited.yaml",
    ]);
    assert!(
        ok(&dry).contains("deployment.apps/web serverside-applied (server dry run)"),
        "{}",
        dry.stdout
    );
    // Every write since the first apply was a dry run, and the object is as it was.
    let dry_writes: Vec<_> = fake
        .log()
        .into_iter()
        .filter(|r| r.method == "PATCH" && r.path == DEPLOY)
        .skip(1)
        .collect();
    assert!(dry_writes.len() >= 3, "{dry_writes:?}");
    assert!(
        dry_writes
            .iter()
            .all(|r| r.dry_run && r.query.contains("dryRun=All")),
        "{dry_writes:?}"
    );
    let d = fake.get(DEPLOY).unwrap();
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["image"],
        "registry.example/shop:1.0"
    );
    assert_eq!(d["metadata"]["resourceVersion"], rv);
}

#[test]
fn kubectl_apply_conflicts_with_another_manager_until_forced() {
    let fake = ApiServer::start();
    fake.write("app.yaml", APP);
    fake.write("scaler.yaml", SCALER);
    ok(&fake.kubectl(&["apply", "--server-side", "-f", "app.yaml"]));

    let out = fake.kubectl(&[
        "apply",
        "--server-side",
        "--field-manager=scaler",
        "-f",
        "scaler.yaml",
    ]);
    fails(
        &out,
        1,
        "error: Apply failed with 1 conflict: conflict with \"kubectl\": .spec.replicas\n",
    );
    assert!(out.stderr.contains("--force-conflicts"), "{}", out.stderr);
    assert_eq!(fake.get(DEPLOY).unwrap()["spec"]["replicas"], 2);

    let out = fake.kubectl(&[
        "apply",
        "--server-side",
        "--field-manager=scaler",
        "--force-conflicts",
        "-f",
        "scaler.yaml",
    ]);
    assert_eq!(ok(&out).trim(), "deployment.apps/web serverside-applied");
    let d = fake.get(DEPLOY).unwrap();
    assert_eq!(d["spec"]["replicas"], 5);
    let kubectl = owned(&d, "kubectl", "Apply").unwrap();
    assert!(kubectl["f:spec"].get("f:replicas").is_none(), "{kubectl}");
    assert_eq!(
        kubectl["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"web\"}"]
            ["f:image"],
        serde_json::json!({})
    );
    let scaler = owned(&d, "scaler", "Apply").unwrap();
    assert_eq!(scaler["f:spec"]["f:replicas"], serde_json::json!({}));

    // Now kubectl's own manifest is the one that conflicts.
    fails(
        &fake.kubectl(&["apply", "--server-side", "-f", "app.yaml"]),
        1,
        "Apply failed with 1 conflict: conflict with \"scaler\": .spec.replicas",
    );

    // kubectl scale writes through the scale subresource: an Update manager.
    assert_eq!(
        ok(&fake.kubectl(&["scale", "-n", "shop", "deployment/web", "--replicas=3"])).trim(),
        "deployment.apps/web scaled"
    );
    assert_eq!(fake.get(DEPLOY).unwrap()["spec"]["replicas"], 3);
    fails(
        &fake.kubectl(&[
            "apply",
            "--server-side",
            "--field-manager=scaler",
            "-f",
            "scaler.yaml",
        ]),
        1,
        "with subresource \"scale\" using apps/v1: .spec.replicas",
    );
}

#[test]
fn kubectl_wait_and_rollout_status_follow_deployments() {
    let fake = ApiServer::start_with(&["--rollout-seconds", "2"]);
    fake.write("app.yaml", APP);
    ok(&fake.kubectl(&["apply", "--server-side", "-f", "app.yaml"]));
    // Not available yet: the rollout takes two seconds.
    let d = fake.get(DEPLOY).unwrap();
    assert!(
        d["status"].get("availableReplicas").is_none(),
        "{}",
        d["status"]
    );

    let out = fake.kubectl(&[
        "wait",
        "-n",
        "shop",
        "--for=condition=Available",
        "deployment/web",
        "--timeout=30s",
    ]);
    assert_eq!(ok(&out).trim(), "deployment.apps/web condition met");
    let d = fake.get(DEPLOY).unwrap();
    assert_eq!(d["status"]["availableReplicas"], 2);
    assert_eq!(d["status"]["observedGeneration"], 1);
    assert!(
        fake.log()
            .iter()
            .any(|r| r.path == "/apis/apps/v1/namespaces/shop/deployments"
                && r.query.contains("watch=true")),
        "kubectl waited without watching"
    );
    let out = fake.kubectl(&[
        "rollout",
        "status",
        "-n",
        "shop",
        "deployment/web",
        "--timeout=30s",
    ]);
    assert!(
        ok(&out).contains("deployment \"web\" successfully rolled out"),
        "{}",
        out.stdout
    );

    // A new image rolls out again: generation 2, observed once the rollout is done.
    fake.write("edited.yaml", &app_with_image("1.1"));
    ok(&fake.kubectl(&["apply", "--server-side", "-f", "edited.yaml"]));
    let out = fake.kubectl(&[
        "rollout",
        "status",
        "-n",
        "shop",
        "deployment/web",
        "--timeout=30s",
    ]);
    assert!(
        ok(&out).contains("Waiting for deployment"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("successfully rolled out"),
        "{}",
        out.stdout
    );
    let d = fake.get(DEPLOY).unwrap();
    assert_eq!(
        (
            d["metadata"]["generation"].as_i64(),
            d["status"]["observedGeneration"].as_i64()
        ),
        (Some(2), Some(2))
    );
    assert_eq!(d["status"]["updatedReplicas"], 2);
}

#[test]
fn kubectl_wait_sees_jobs_complete_or_fail() {
    let fake = ApiServer::start_with(&["--job-seconds", "1.5"]);
    let job = &APP[APP.find("apiVersion: batch/v1").unwrap()..];
    ok(&fake.kubectl(&["create", "namespace", "shop"]));
    fake.write("migrate.yaml", job);
    ok(&fake.kubectl(&["apply", "--server-side", "-f", "migrate.yaml"]));
    let path = "/apis/batch/v1/namespaces/shop/jobs/migrate";
    assert_eq!(fake.get(path).unwrap()["status"]["active"], 1);
    let out = fake.kubectl(&[
        "wait",
        "-n",
        "shop",
        "--for=condition=complete",
        "job/migrate",
        "--timeout=30s",
    ]);
    assert_eq!(ok(&out).trim(), "job.batch/migrate condition met");
    let j = fake.get(path).unwrap();
    assert_eq!(j["status"]["succeeded"], 1);
    assert!(
        j["status"].get("active").is_none() && j["status"]["completionTime"].is_string(),
        "{}",
        j["status"]
    );

    // A job the test makes fail (before it exists).
    fake.fail("Job", "shop", "nightly", "DeadlineExceeded");
    fake.write(
        "nightly.yaml",
        &job.replace("name: migrate\n  namespace", "name: nightly\n  namespace"),
    );
    ok(&fake.kubectl(&["apply", "--server-side", "-f", "nightly.yaml"]));
    let out = fake.kubectl(&[
        "wait",
        "-n",
        "shop",
        "--for=condition=failed",
        "job/nightly",
        "--timeout=30s",
    ]);
    assert_eq!(ok(&out).trim(), "job.batch/nightly condition met");
    let j = fake
        .get("/apis/batch/v1/namespaces/shop/jobs/nightly")
        .unwrap();
    let failed = j["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Failed")
        .unwrap();
    assert_eq!(
        (failed["status"].as_str(), failed["reason"].as_str()),
        (Some("True"), Some("DeadlineExceeded"))
    );
    assert!(j["status"].get("succeeded").is_none(), "{}", j["status"]);
    fails(
        &fake.kubectl(&[
            "wait",
            "-n",
            "shop",
            "--for=condition=complete",
            "job/nightly",
            "--timeout=1s",
        ]),
        1,
        "timed out waiting for the condition",
    );
}

/// What an applier leaves out of its next apply is removed (unless someone else owns it),
/// associative lists merge by key, and fields other managers own stay.
#[test]
fn kubectl_apply_removes_what_it_no_longer_applies_and_merges_lists_by_key() {
    let fake = ApiServer::start();
    let v1 = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: default\n  labels: {app: web, team: shop}\n\
spec:\n  replicas: 3\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      \
containers:\n      - name: web\n        image: shop:1.0\n        command: [gunicorn]\n        ports:\n        - containerPort: 8000\n        \
env:\n        - {name: A, value: \"1\"}\n        - {name: B, value: \"2\"}\n";
    let v2 = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: default\n  labels: {app: web}\n\
spec:\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      \
containers:\n      - name: web\n        image: shop:1.0\n        env:\n        - {name: A, value: \"1\"}\n";
    let sidecar = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: default\n\
spec:\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      \
containers:\n      - name: proxy\n        image: envoy:1\n";
    ok(&fake.kubectl_stdin(&["apply", "--server-side", "-f", "-"], v1));
    ok(&fake.kubectl_stdin(
        &["apply", "--server-side", "--field-manager=mesh", "-f", "-"],
        sidecar,
    ));
    ok(&fake.kubectl(&["label", "deployment", "web", "owner=ops"]));
    ok(&fake.kubectl_stdin(&["apply", "--server-side", "-f", "-"], v2));

    let d = fake
        .get("/apis/apps/v1/namespaces/default/deployments/web")
        .unwrap();
    assert_eq!(
        d["metadata"]["labels"],
        serde_json::json!({"app": "web", "owner": "ops"})
    );
    // replicas was kubectl's alone: dropped, then defaulted again, as a real API server does.
    assert_eq!(d["spec"]["replicas"], 1);
    let containers = d["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap();
    let names: Vec<&str> = containers
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["web", "proxy"]);
    let web = &containers[0];
    assert_eq!(web["env"], serde_json::json!([{"name": "A", "value": "1"}]));
    assert!(
        web.get("command").is_none() && web.get("ports").is_none(),
        "{web}"
    );
    assert_eq!(web["imagePullPolicy"], "IfNotPresent");
    // Three spec changes (v1, the sidecar, v2); the label did not count.
    assert_eq!(d["metadata"]["generation"], 3);

    // The patch types kubectl sends: strategic (lists by merge key, $patch: delete), merge, json.
    ok(&fake.kubectl(&[
        "patch", "deployment", "web", "--type=strategic", "-p",
        r#"{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"shop:2.0","env":[{"name":"C","value":"3"}]},{"name":"proxy","$patch":"delete"}]}}}}"#,
    ]));
    ok(&fake.kubectl(&[
        "patch",
        "deployment",
        "web",
        "--type=merge",
        "-p",
        r#"{"metadata":{"labels":{"tier":"front"}}}"#,
    ]));
    ok(&fake.kubectl(&[
        "patch",
        "deployment",
        "web",
        "--type=json",
        "-p",
        r#"[{"op":"replace","path":"/spec/replicas","value":4}]"#,
    ]));
    let d = fake
        .get("/apis/apps/v1/namespaces/default/deployments/web")
        .unwrap();
    let containers = &d["spec"]["template"]["spec"]["containers"];
    assert_eq!(containers.as_array().unwrap().len(), 1, "{containers}");
    assert_eq!(containers[0]["image"], "shop:2.0");
    assert_eq!(
        containers[0]["env"],
        serde_json::json!([{"name": "A", "value": "1"}, {"name": "C", "value": "3"}])
    );
    assert_eq!(d["metadata"]["labels"]["tier"], "front");
    assert_eq!(d["spec"]["replicas"], 4);
    let types: Vec<String> = fake
        .log()
        .into_iter()
        .filter(|r| r.method == "PATCH")
        .map(|r| r.content_type)
        .collect();
    assert_eq!(
        types[types.len() - 3..],
        [
            "application/strategic-merge-patch+json",
            "application/merge-patch+json",
            "application/json-patch+json"
        ]
    );
}

#[test]
fn kubectl_delete_removes_the_manifest_while_the_namespace_terminates() {
    // kubectl deletes the Namespace first, then what is in it: that works because a
    // namespace stays Terminating for a while before its content goes.
    let fake = ApiServer::start_with(&["--namespace-seconds", "2.5"]);
    fake.write("app.yaml", APP);
    ok(&fake.kubectl(&["apply", "--server-side", "-f", "app.yaml"]));
    // A server-side dry run first: said, not done.
    let out = fake.kubectl(&["delete", "-f", "app.yaml", "--dry-run=server"]);
    assert_eq!(
        lines(ok(&out))[0],
        "namespace \"shop\" deleted (server dry run)"
    );
    assert_eq!(lines(&out.stdout).len(), 7, "{}", out.stdout);
    assert!(fake
        .log()
        .iter()
        .filter(|r| r.method == "DELETE")
        .all(|r| r.dry_run));
    let ns = fake.get("/api/v1/namespaces/shop").unwrap();
    assert!(ns["metadata"].get("deletionTimestamp").is_none(), "{ns}");
    assert!(fake.get(DEPLOY).is_some());

    let out = fake.kubectl(&["delete", "-f", "app.yaml"]);
    assert_eq!(
        lines(ok(&out)),
        [
            "namespace \"shop\" deleted",
            "configmap \"settings\" deleted",
            "secret \"creds\" deleted",
            "deployment.apps \"web\" deleted",
            "service \"web\" deleted",
            "ingress.networking.k8s.io \"web\" deleted",
            "job.batch \"migrate\" deleted",
        ]
    );
    let deletes: Vec<String> = fake
        .log()
        .into_iter()
        .filter(|r| r.method == "DELETE" && !r.dry_run)
        .map(|r| r.line())
        .collect();
    assert_eq!(deletes.len(), 7, "{deletes:?}");
    assert!(deletes.iter().all(|d| d.ends_with(" 200")), "{deletes:?}");
    // kubectl waited for the deletions: everything is gone when it returns.
    fails(
        &fake.kubectl(&["get", "namespace", "shop"]),
        1,
        "Error from server (NotFound): namespaces \"shop\" not found",
    );
    assert!(fake.get(DEPLOY).is_none());

    // Nothing new goes into a namespace that is terminating; an object with a finalizer holds
    // the namespace there until the finalizer is removed.
    ok(&fake.kubectl(&["create", "namespace", "gone"]));
    ok(&fake.kubectl_stdin(
        &["apply", "--server-side", "-f", "-"],
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: held\n  namespace: gone\n  \
         finalizers: [example.com/hold]\n",
    ));
    ok(&fake.kubectl(&["delete", "namespace", "gone", "--wait=false"]));
    let ns = fake
        .get("/api/v1/namespaces/gone")
        .expect("still terminating");
    assert_eq!(ns["status"]["phase"], "Terminating");
    assert!(ns["metadata"]["deletionTimestamp"].is_string(), "{ns}");
    fails(
        &fake.kubectl(&[
            "create",
            "configmap",
            "late",
            "-n",
            "gone",
            "--from-literal=a=b",
        ]),
        1,
        "unable to create new content in namespace gone because it is being terminated",
    );
    let held = fake.wait_for(
        "/api/v1/namespaces/gone/configmaps/held",
        Duration::from_secs(10),
        |c| c["metadata"]["deletionTimestamp"].is_string(),
    );
    assert_eq!(
        held["metadata"]["finalizers"],
        serde_json::json!(["example.com/hold"])
    );
    assert!(fake
        .get("/api/v1/namespaces/gone/configmaps/kube-root-ca.crt")
        .is_none());
    assert!(
        fake.get("/api/v1/namespaces/gone").is_some(),
        "held by the finalizer"
    );
    ok(&fake.kubectl(&[
        "patch",
        "configmap",
        "held",
        "-n",
        "gone",
        "--type=merge",
        "-p",
        r#"{"metadata":{"finalizers":null}}"#,
    ]));
    ok(&fake.kubectl(&["wait", "--for=delete", "namespace/gone", "--timeout=20s"]));
    assert!(fake.get("/api/v1/namespaces/gone").is_none());
    assert!(fake
        .get("/api/v1/namespaces/gone/configmaps/held")
        .is_none());
}

#[test]
fn kubectl_crd_then_objects_of_its_kind() {
    let fake = ApiServer::start();
    fake.write("crd.yaml", CRD);
    ok(&fake.kubectl(&["create", "namespace", "shop"]));
    fake.write(
        "backup.yaml",
        "apiVersion: ops.example.com/v1\nkind: Backup\nmetadata: {name: nightly, namespace: shop}\n\
         spec: {schedule: \"0 3 * * *\", keep: 7, color: blue}\n",
    );
    // Before the CRD, kubectl does not know the kind.
    fails(
        &fake.kubectl(&["apply", "--server-side", "-f", "backup.yaml"]),
        1,
        "no matches for kind \"Backup\" in version \"ops.example.com/v1\"",
    );
    assert_eq!(
        ok(&fake.kubectl(&["apply", "--server-side", "-f", "crd.yaml"])).trim(),
        "customresourcedefinition.apiextensions.k8s.io/backups.ops.example.com serverside-applied"
    );
    let out = fake.kubectl(&[
        "wait",
        "--for=condition=Established",
        "crd/backups.ops.example.com",
        "--timeout=20s",
    ]);
    assert_eq!(
        ok(&out).trim(),
        "customresourcedefinition.apiextensions.k8s.io/backups.ops.example.com condition met"
    );
    assert_eq!(
        ok(&fake.kubectl(&["apply", "--server-side", "-f", "backup.yaml"])).trim(),
        "backup.ops.example.com/nightly serverside-applied"
    );
    let list = json(&fake.kubectl(&["get", "bk", "-n", "shop", "-o", "json"]));
    let item = &list["items"][0];
    assert_eq!(item["kind"], "Backup");
    assert_eq!(item["metadata"]["generation"], 1);
    assert_eq!(
        item["spec"],
        serde_json::json!({"schedule": "0 3 * * *", "keep": 7}),
        "unknown fields are pruned"
    );
    let resources = fake.kubectl(&[
        "api-resources",
        "--api-group=ops.example.com",
        "--no-headers",
    ]);
    assert_eq!(
        ok(&resources).split_whitespace().collect::<Vec<_>>(),
        ["backups", "bk", "ops.example.com/v1", "true", "Backup"]
    );
    fails(
        &fake.kubectl_stdin(
            &["apply", "--server-side", "-f", "-"],
            "apiVersion: ops.example.com/v1\nkind: Backup\nmetadata: {name: bad, namespace: shop}\nspec: {keep: many}\n",
        ),
        1,
        "spec.keep: Invalid value: \"string\": spec.keep in body must be of type integer: \"string\"",
    );
    // Deleting the CRD deletes its objects and the kind.
    ok(&fake.kubectl(&["delete", "-f", "crd.yaml"]));
    assert!(fake
        .get("/apis/ops.example.com/v1/namespaces/shop/backups/nightly")
        .is_none());
    // (kubectl's discovery cache still lists the kind, as against a real cluster right
    // after the CRD went away.)
    fails(
        &fake.kubectl(&["get", "backups", "-n", "shop"]),
        1,
        "Error from server (NotFound): Unable to list \"ops.example.com/v1, Resource=backups\": \
         the server could not find the requested resource",
    );
}

#[test]
fn kubectl_admin_conf_client_certificate_tokens_and_401() {
    let fake = ApiServer::start();
    let out = fake.kubectl_with(
        "kubectl",
        &fake.admin_conf(),
        &["get", "namespaces", "-o", "name"],
        None,
    );
    assert_eq!(
        lines(ok(&out)),
        [
            "namespace/default",
            "namespace/kube-node-lease",
            "namespace/kube-public",
            "namespace/kube-system"
        ]
    );
    let users: Vec<Option<String>> = fake
        .log()
        .into_iter()
        .filter(|r| r.path == "/api/v1/namespaces")
        .map(|r| r.user)
        .collect();
    assert_eq!(users, [Some("kubernetes-admin".to_string())]);

    let bad = fake.write_kubeconfig("bad-token", "not-the-token");
    fails(
        &fake.kubectl_with("kubectl", &bad, &["get", "namespaces"], None),
        1,
        "error: You must be logged in to the server (Unauthorized)",
    );
    // Without any credentials /version is public (as for system:anonymous) and the API is
    // not; with the token, an unknown resource is a NotFound Status. (kubectl itself would
    // prompt for a user name without credentials, and never asks for unknown resources.)
    let probe = r#"
import json, ssl, sys, urllib.request, urllib.error
ctx = ssl.create_default_context(cafile=sys.argv[1])
for path, token in (('/version', None), ('/api/v1/namespaces', None),
                    ('/apis/apps/v1/namespaces/default/widgets', sys.argv[3])):
    req = urllib.request.Request(sys.argv[2] + path)
    if token:
        req.add_header('Authorization', 'Bearer ' + token)
    try:
        r = urllib.request.urlopen(req, context=ctx)
        print(path, r.status, json.load(r).get('gitVersion'))
    except urllib.error.HTTPError as e:
        b = json.load(e)
        print(path, e.code, b['kind'], b['reason'], b['message'])
"#;
    let mut cmd = Command::new("python3");
    cmd.args(["-c", probe])
        .arg(k8s_fake::pki().path("ca.crt"))
        .arg(fake.url())
        .arg(k8s_fake::TOKEN);
    let out = run_bounded(cmd, None, CLIENT_TIMEOUT);
    assert_eq!(
        lines(ok(&out)),
        [
            "/version 200 v1.33.0",
            "/api/v1/namespaces 401 Status Unauthorized Unauthorized",
            "/apis/apps/v1/namespaces/default/widgets 404 Status NotFound the server could not find the requested resource",
        ]
    );
    let denied = fake.log().into_iter().filter(|r| r.status == 401).count();
    assert!(denied >= 2, "{:?}", fake.log());
    assert!(fake
        .log()
        .iter()
        .filter(|r| r.status == 401)
        .all(|r| r.user.is_none()));

    // A client certificate from another CA fails the TLS handshake.
    let stranger = fake.write("stranger.conf", &fake.admin_conf_text_for("stranger"));
    let out = fake.kubectl_with("kubectl", &stranger, &["get", "namespaces"], None);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("tls: "), "{}", out.stderr);
}

#[test]
fn kubectl_sees_the_api_servers_errors() {
    let fake = ApiServer::start();
    fake.write("cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: default}\ndata: {a: \"1\"}\n");
    ok(&fake.kubectl(&["create", "-f", "cm.yaml"]));
    fails(
        &fake.kubectl(&["create", "-f", "cm.yaml"]),
        1,
        "Error from server (AlreadyExists): error when creating \"cm.yaml\": configmaps \"c\" already exists",
    );
    fails(
        &fake.kubectl_stdin(
            &["apply", "--server-side", "-f", "-"],
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: nope}\n",
        ),
        1,
        "namespaces \"nope\" not found",
    );
    fails(
        &fake.kubectl(&["get", "deployment", "nothere"]),
        1,
        "Error from server (NotFound): deployments.apps \"nothere\" not found",
    );
    fails(
        &fake.kubectl(&["get", "widgets"]),
        1,
        "the server doesn't have a resource type \"widgets\"",
    );
    fails(
        &fake.kubectl_stdin(
            &["apply", "--server-side", "-f", "-"],
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: broken}\nspec:\n  template:\n    \
             metadata: {labels: {app: x}}\n    spec: {containers: [{name: x}]}\n",
        ),
        1,
        "The Deployment \"broken\" is invalid: \n* spec.selector: Required value\n* spec.template.spec.containers[0].image: Required value",
    );
    fails(
        &fake.kubectl_stdin(
            &["apply", "--server-side", "-f", "-"],
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: Bad_Name}\n",
        ),
        1,
        "metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain must consist of",
    );
    // The failed writes left nothing behind.
    assert!(fake
        .get("/apis/apps/v1/namespaces/default/deployments/broken")
        .is_none());
}

#[test]
fn kubectl_typed_commands_send_protobuf_the_fake_reads() {
    let fake = ApiServer::start();
    assert_eq!(
        ok(&fake.kubectl(&["create", "namespace", "demo"])).trim(),
        "namespace/demo created"
    );
    ok(&fake.kubectl(&[
        "create",
        "secret",
        "generic",
        "hcloud",
        "-n",
        "demo",
        "--from-literal=token=abc",
        "--from-literal=network=net1",
    ]));
    ok(&fake.kubectl(&[
        "create",
        "configmap",
        "c",
        "-n",
        "demo",
        "--from-literal=a=1",
    ]));
    ok(&fake.kubectl(&["create", "serviceaccount", "robot", "-n", "demo"]));
    let posts: Vec<_> = fake
        .log()
        .into_iter()
        .filter(|r| r.method == "POST")
        .collect();
    assert_eq!(posts.len(), 4, "{posts:?}");
    assert!(
        posts
            .iter()
            .all(|r| r.content_type == "application/vnd.kubernetes.protobuf" && r.status == 201),
        "{posts:?}"
    );
    let s = fake.get("/api/v1/namespaces/demo/secrets/hcloud").unwrap();
    assert_eq!(
        s["data"],
        serde_json::json!({"token": "YWJj", "network": "bmV0MQ=="})
    );
    assert_eq!(s["type"], "Opaque");
    assert_eq!(
        fake.get("/api/v1/namespaces/demo/configmaps/c").unwrap()["data"],
        serde_json::json!({"a": "1"})
    );
    assert!(fake
        .get("/api/v1/namespaces/demo/serviceaccounts/robot")
        .is_some());
    // The namespace controller's own objects appear too.
    fake.wait_for(
        "/api/v1/namespaces/demo/serviceaccounts/default",
        Duration::from_secs(10),
        |_| true,
    );
    fake.wait_for(
        "/api/v1/namespaces/demo/configmaps/kube-root-ca.crt",
        Duration::from_secs(10),
        |c| {
            c["data"]["ca.crt"]
                .as_str()
                .is_some_and(|p| p.starts_with("-----BEGIN CERTIFICATE-----"))
        },
    );
}

#[test]
fn nodes_register_through_the_hook_and_daemonsets_run_on_every_node() {
    let fake = ApiServer::start_with(&["--legacy-discovery", "--rollout-seconds", "0.2"]);
    fake.add_node("cp-1", &["control-plane"], true);
    fake.add_node("worker-1", &[], false);
    let out = fake.kubectl(&["get", "nodes"]);
    let rows: Vec<Vec<&str>> = ok(&out)
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows[0], ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]);
    assert_eq!(rows[1][..3], ["cp-1", "Ready", "control-plane"]);
    assert_eq!(rows[2][..3], ["worker-1", "NotReady", "<none>"]);
    // Legacy discovery: kubectl asked group by group.
    let log = fake.log();
    assert!(log.iter().any(|r| r.path == "/api/v1"), "{log:?}");
    assert!(log.iter().any(|r| r.path == "/apis/apps/v1"), "{log:?}");

    fake.write(
        "ds.yaml",
        "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: agent, namespace: kube-system}\nspec:\n  \
         selector: {matchLabels: {app: agent}}\n  template:\n    metadata: {labels: {app: agent}}\n    \
         spec: {containers: [{name: agent, image: agent:1}]}\n",
    );
    ok(&fake.kubectl(&["apply", "--server-side", "-f", "ds.yaml"]));
    let path = "/apis/apps/v1/namespaces/kube-system/daemonsets/agent";
    // A DaemonSet's pods tolerate not-ready nodes (that is how a CNI gets installed).
    fake.wait_for(path, Duration::from_secs(10), |d| {
        d["status"]["numberReady"] == 2
    });
    assert_eq!(
        fake.get(path).unwrap()["status"]["desiredNumberScheduled"],
        2
    );
    fake.add_node("worker-2", &[], true);
    fake.wait_for(path, Duration::from_secs(10), |d| {
        d["status"]["numberReady"] == 3 && d["status"]["desiredNumberScheduled"] == 3
    });
    fake.add_node("worker-1", &[], true);
    let out = fake.kubectl(&["get", "nodes", "worker-1", "--no-headers"]);
    assert_eq!(ok(&out).split_whitespace().nth(1), Some("Ready"));
    let out = fake.kubectl(&[
        "rollout",
        "status",
        "-n",
        "kube-system",
        "daemonset/agent",
        "--timeout=20s",
    ]);
    assert!(
        ok(&out).contains("daemon set \"agent\" successfully rolled out"),
        "{}",
        out.stdout
    );

    // The reset hook forgets everything, the log included.
    let (status, _) = fake.hook("POST", "/__fake/reset", "");
    assert_eq!(status, 200);
    assert!(fake.log().is_empty());
    assert!(fake.get("/api/v1/nodes/cp-1").is_none());
    assert!(fake.get(path).is_none());
    assert!(fake.get("/api/v1/namespaces/default").is_some());
}

/// Every kubectl shipped next to the default one (1.27 … 1.33 here), each against a fake of
/// its own: apply, diff, get, delete.
#[test]
fn kubectl_versions_side_by_side() {
    let versions = kubectl_versions();
    let mut bins: Vec<(String, String)> = versions
        .iter()
        .map(|(v, p)| (v.clone(), p.display().to_string()))
        .collect();
    bins.push(("default".into(), "kubectl".into()));
    std::thread::scope(|scope| {
        for (version, bin) in &bins {
            scope.spawn(move || {
                let fake = ApiServer::start_with(&[
                    "--namespace-seconds",
                    "2",
                    "--rollout-seconds",
                    "0.2",
                    "--job-seconds",
                    "0.2",
                ]);
                fake.write("app.yaml", APP);
                fake.write("edited.yaml", &app_with_image("1.1"));
                let k = |args: &[&str]| fake.kubectl_with(bin, &fake.kubeconfig(), args, None);
                let out = k(&["apply", "--server-side", "-f", "app.yaml"]);
                assert_eq!(lines(ok(&out)), APPLIED, "kubectl {version}");
                // (A diff taken while the status still changes shows the status moving.)
                settled(&fake);
                let same = k(&["diff", "--server-side", "-f", "app.yaml"]);
                assert_eq!(
                    (same.code, same.stdout.as_str()),
                    (0, ""),
                    "kubectl {version}: {}",
                    same.stderr
                );
                let diff = k(&["diff", "--server-side", "-f", "edited.yaml"]);
                assert_eq!(diff.code, 1, "kubectl {version}: {}", diff.stderr);
                assert!(
                    diff.stdout
                        .contains("+        image: registry.example/shop:1.1"),
                    "kubectl {version}: {}",
                    diff.stdout
                );
                let d = json(&k(&["get", "-n", "shop", "deployment/web", "-o", "json"]));
                assert_eq!(
                    d["spec"]["template"]["spec"]["containers"][0]["image"],
                    "registry.example/shop:1.0",
                    "kubectl {version}"
                );
                assert_eq!(
                    ok(&k(&["delete", "-f", "app.yaml"])).lines().count(),
                    7,
                    "kubectl {version}"
                );
                assert!(
                    fake.get("/api/v1/namespaces/shop").is_none(),
                    "kubectl {version}"
                );
            });
        }
    });
}

/// The official Python client (installed by tests/run in $LAB_DIR/k8s-venv, or K8S_PYTHON),
/// once with the token kubeconfig and once with the kubeadm admin.conf.
#[test]
fn official_client_accepts_the_fake() {
    let python = std::env::var("K8S_PYTHON").unwrap_or_else(|_| {
        let lab = std::env::var("LAB_DIR").unwrap_or_else(|_| "/var/tmp/timonel-lab".into());
        format!("{lab}/k8s-venv/bin/python")
    });
    std::thread::scope(|scope| {
        for admin in [false, true] {
            let python = python.clone();
            scope.spawn(move || {
                let fake = ApiServer::start_with(&[
                    "--rollout-seconds",
                    "0.5",
                    "--job-seconds",
                    "0.5",
                    "--namespace-seconds",
                    "0.3",
                ]);
                let config = if admin {
                    fake.admin_conf()
                } else {
                    fake.kubeconfig()
                };
                let mut cmd = Command::new(&python);
                cmd.arg(k8s_script("official_client.py")).arg(&config);
                if !std::path::Path::new(&python).exists() {
                    panic!("{python} is missing (tests/run installs the kubernetes client)");
                }
                let out = run_bounded(cmd, None, CLIENT_TIMEOUT);
                assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
                assert_eq!(out.stdout, "official client: ok\n");
                let user = if admin {
                    "kubernetes-admin"
                } else {
                    "token-user"
                };
                assert!(fake
                    .log()
                    .iter()
                    .filter(|r| r.user_agent.starts_with("OpenAPI-Generator"))
                    .all(|r| r.user.as_deref() == Some(user)));
            });
        }
    });
}
