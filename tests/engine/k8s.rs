//! k8s_apply and k8s_info through the binary, against the fake Kubernetes API server (whose
//! fidelity k8s_api.rs checks with kubectl and the official client): what a user sees in
//! --check --diff, the recap, the cluster's objects, and the request log.

use base64::Engine;
use serde_json::Value;

use crate::support::Lab;

use crate::k8s_fake::{ApiServer, TOKEN};

const APP: &str = r#"apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Secret
metadata: {name: django, namespace: shop, labels: {app.kubernetes.io/part-of: shop}}
stringData: {SECRET_KEY: s3cr3t-k3y, DB_PASSWORD: s3cr3t-pw}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: shop, labels: {app.kubernetes.io/part-of: shop}}
data: {DJANGO_SETTINGS_MODULE: shop.settings}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, labels: {app.kubernetes.io/part-of: shop}}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: gunicorn
        image: shop:IMAGE
        ports: [{containerPort: 8000}]
        envFrom: [{configMapRef: {name: settings}}, {secretRef: {name: django}}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop, labels: {app.kubernetes.io/part-of: shop}}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8000}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: shop, labels: {app.kubernetes.io/part-of: shop}}
spec:
  rules:
  - host: shop.example.com
    http:
      paths:
      - path: /
        pathType: Prefix
        backend: {service: {name: web, port: {number: 80}}}
---
apiVersion: batch/v1
kind: Job
metadata: {name: migrate-IMAGE, namespace: shop, labels: {app.kubernetes.io/part-of: shop}}
spec:
  backoffLimit: 1
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: migrate
        image: shop:IMAGE
        command: [python, manage.py, migrate]
"#;

const PLAY: &str = r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - k8s_apply:
        kubeconfig: "{{ kubeconfig }}"
        src: "{{ root }}/app.yaml"
        state: "{{ state | default('present') }}"
        wait: true
        prune: true
        prune_label: app.kubernetes.io/part-of=shop
      register: applied
"#;

fn app(image: &str) -> String {
    APP.replace("IMAGE", image)
}

fn setup(fake: &ApiServer, image: &str) -> Lab {
    let lab = Lab::new();
    lab.write("app.yaml", &app(image));
    lab.write("site.yml", PLAY);
    let _ = fake;
    lab
}

fn kc(fake: &ApiServer) -> String {
    format!("kubeconfig={}", fake.kubeconfig().display())
}

/// The writes that were not dry runs.
fn real_writes(fake: &ApiServer) -> Vec<String> {
    fake.log()
        .into_iter()
        .filter(|r| r.method != "GET" && !r.dry_run)
        .map(|r| r.line())
        .collect()
}

#[test]
fn a_django_shaped_app_previewed_created_unchanged_updated_pruned_and_deleted() {
    let fake = ApiServer::start();
    let lab = setup(&fake, "1.0");
    let kc = kc(&fake);

    // --check --diff on an empty cluster: every object as an addition, nothing written.
    let out = lab.play("site.yml", &["-e", &kc, "--check", "--diff"]);
    out.assert_ok();
    for head in [
        "Namespace shop (absent)",
        "Secret shop/django (absent)",
        "ConfigMap shop/settings (absent)",
        "Deployment shop/web (absent)",
        "Service shop/web (absent)",
        "Ingress shop/web (absent)",
        "Job shop/migrate-1.0 (absent)",
    ] {
        assert!(out.stdout.contains(head), "{head} missing:\n{}", out.stdout);
    }
    assert!(
        out.stdout.contains("+        image: shop:1.0"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("s3cr3t"), "{}", out.stdout);
    assert_eq!(out.recap("localhost").changed, 1);
    assert_eq!(real_writes(&fake), Vec::<String>::new());
    assert!(fake.get("/api/v1/namespaces/shop").is_none());

    // The first run creates everything and waits for the rollout and the Job.
    let out = lab.play("site.yml", &["-e", &kc]);
    out.assert_ok();
    assert_eq!(out.recap("localhost").changed, 1);
    let d = fake
        .get("/apis/apps/v1/namespaces/shop/deployments/web")
        .expect("the Deployment exists");
    assert_eq!(
        d["status"]["availableReplicas"], 3,
        "waited for the rollout: {d}"
    );
    let job = fake
        .get("/apis/batch/v1/namespaces/shop/jobs/migrate-1.0")
        .expect("the Job exists");
    assert_eq!(job["status"]["succeeded"], 1, "waited for the Job: {job}");
    let d_managers: Vec<&str> = d["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["manager"].as_str())
        .collect();
    assert!(d_managers.contains(&"timonel"), "{d_managers:?}");

    // The re-run changes nothing and sends no write but dry runs.
    let before = real_writes(&fake).len();
    let out = lab.play("site.yml", &["-e", &kc, "--diff"]);
    out.assert_ok();
    assert_eq!(out.recap("localhost").changed, 0, "{}", out.stdout);
    assert_eq!(real_writes(&fake).len(), before, "{:?}", real_writes(&fake));

    // A new image: one change, its diff names the image line, and a new migrations Job.
    lab.write("app.yaml", &app("1.1"));
    let out = lab.play("site.yml", &["-e", &kc, "--diff"]);
    out.assert_ok();
    assert!(
        out.stdout.contains("-        image: shop:1.0"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("+        image: shop:1.1"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("Job shop/migrate-1.1 (absent)"),
        "{}",
        out.stdout
    );
    // The old Job left the source: pruned, shown as a removal.
    assert!(
        out.stdout.contains("Job shop/migrate-1.0 (deleted)"),
        "{}",
        out.stdout
    );
    assert!(
        !out.stdout.contains("Service shop/web"),
        "unchanged objects have no diff"
    );
    assert_eq!(out.recap("localhost").changed, 1);
    assert!(fake
        .get("/apis/batch/v1/namespaces/shop/jobs/migrate-1.0")
        .is_none());
    let d = fake
        .get("/apis/apps/v1/namespaces/shop/deployments/web")
        .unwrap();
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["image"],
        "shop:1.1"
    );

    // state: absent deletes them all.
    let out = lab.play("site.yml", &["-e", &kc, "-e", "state=absent"]);
    out.assert_ok();
    assert_eq!(out.recap("localhost").changed, 1);
    assert!(fake
        .get("/apis/apps/v1/namespaces/shop/deployments/web")
        .is_none());
    assert!(fake
        .get("/api/v1/namespaces/shop/configmaps/settings")
        .is_none());
    let out = lab.play("site.yml", &["-e", &kc, "-e", "state=absent"]);
    assert_eq!(out.recap("localhost").changed, 0, "{}", out.stdout);
}

#[test]
fn a_playbook_written_for_kubernetes_core_k8s_runs_unchanged() {
    let fake = ApiServer::start();
    let lab = Lab::new();
    lab.write("app.yaml", &app("2.0"));
    lab.write(
        "k.yml",
        r#"
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Deploy the application
      kubernetes.core.k8s:
        kubeconfig: "{{ kubeconfig }}"
        state: present
        src: "{{ root }}/app.yaml"
        apply: true
        server_side_apply:
          field_manager: ansible
          force_conflicts: true
        wait: true
        wait_timeout: 60
      register: deployed
    - name: Read the Deployment
      kubernetes.core.k8s_info:
        kubeconfig: "{{ kubeconfig }}"
        kind: Deployment
        api_version: apps/v1
        namespace: shop
        name: web
        wait: true
      register: info
    - assert:
        that:
          - deployed.result.results | length == 7
          - info.resources | length == 1
          - info.resources[0].spec.replicas == 3
          - info.resources[0].status.availableReplicas == 3
"#,
    );
    let out = lab.play("k.yml", &["-e", &kc(&fake)]);
    out.assert_ok();
    let d = fake
        .get("/apis/apps/v1/namespaces/shop/deployments/web")
        .unwrap();
    let managers: Vec<&str> = d["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["manager"].as_str())
        .collect();
    assert!(managers.contains(&"ansible"), "{managers:?}");
}

#[test]
fn a_crd_and_objects_of_its_kind_in_one_source() {
    let fake = ApiServer::start();
    let lab = Lab::new();
    lab.write(
        "crd.yaml",
        r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: backups.shop.example.com}
spec:
  group: shop.example.com
  scope: Namespaced
  names: {plural: backups, singular: backup, kind: Backup}
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
---
apiVersion: shop.example.com/v1
kind: Backup
metadata: {name: nightly}
spec: {schedule: "0 3 * * *"}
"#,
    );
    lab.write(
        "c.yml",
        r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - k8s: {kubeconfig: "{{ kubeconfig }}", src: "{{ root }}/crd.yaml", namespace: default}
"#,
    );
    let kc = kc(&fake);
    let out = lab.play("c.yml", &["-e", &kc, "--check", "--diff"]);
    out.assert_ok();
    assert!(
        out.stdout.contains("Backup default/nightly (absent)"),
        "{}",
        out.stdout
    );
    let out = lab.play("c.yml", &["-e", &kc]);
    out.assert_ok();
    let b = fake
        .get("/apis/shop.example.com/v1/namespaces/default/backups/nightly")
        .expect("the custom object exists");
    assert_eq!(b["spec"]["schedule"], "0 3 * * *");
    assert_eq!(
        lab.play("c.yml", &["-e", &kc]).recap("localhost").changed,
        0
    );
}

/// Runs one k8s_apply task on `definition` (YAML text) and returns the failure line.
fn failure(fake: &ApiServer, lab: &Lab, src: &str, extra: &str) -> String {
    lab.write("bad.yaml", src);
    lab.write(
        "bad.yml",
        &format!(
            "- hosts: localhost\n  gather_facts: no\n  tasks:\n    - k8s_apply: {{kubeconfig: \"{{{{ kubeconfig }}}}\", src: \"{{{{ root }}}}/bad.yaml\"{extra}}}\n"
        ),
    );
    let out = lab.play("bad.yml", &["-e", &kc(fake)]);
    out.assert_code(2);
    assert!(!out.stdout.contains(TOKEN), "{}", out.stdout);
    out.stdout
        .lines()
        .find(|l| l.contains("FAILED!"))
        .unwrap_or_else(|| panic!("no failure line:\n{}", out.stdout))
        .to_string()
}

#[test]
fn errors_name_the_document_the_object_and_the_fix() {
    let fake = ApiServer::start();
    let lab = Lab::new();
    let before = real_writes(&fake).len();
    let f = failure(
        &fake,
        &lab,
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\nkind: ConfigMap\nmetadata: {name: b}\n",
        "",
    );
    assert!(
        f.contains("bad.yaml:5: the object has no apiVersion"),
        "{f}"
    );
    // Caught before any object is sent: the valid first document was not applied either.
    assert_eq!(real_writes(&fake).len(), before);
    assert!(fake
        .get("/api/v1/namespaces/default/configmaps/a")
        .is_none());

    let f = failure(&fake, &lab, "- just\n- a list\n", "");
    assert!(
        f.contains("bad.yaml:1: a Kubernetes object is a mapping"),
        "{f}"
    );

    let f = failure(
        &fake,
        &lab,
        "apiVersion: apps/v1\nkind: Deploymnet\nmetadata: {name: x}\n",
        "",
    );
    assert!(
        f.contains("kind 'Deploymnet' is not served") && f.contains("did you mean 'Deployment'?"),
        "{f}"
    );

    let f = failure(
        &fake,
        &lab,
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: {replicas: 1}\n",
        "",
    );
    assert!(
        f.contains("Deployment default/x is invalid") && f.contains("spec.selector"),
        "{f}"
    );

    // Another field manager owns replicas: the conflict names it and the fix.
    let dep = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: REPLICAS\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: web, image: web:1}]}\n";
    lab.write("bad.yaml", &dep.replace("REPLICAS", "2"));
    lab.write(
        "first.yml",
        "- hosts: localhost\n  gather_facts: no\n  tasks:\n    - k8s_apply: {kubeconfig: \"{{ kubeconfig }}\", src: \"{{ root }}/bad.yaml\", field_manager: helm}\n",
    );
    lab.play("first.yml", &["-e", &kc(&fake)]).assert_ok();
    let f = failure(&fake, &lab, &dep.replace("REPLICAS", "5"), "");
    assert!(
        f.contains("conflict") && f.contains("helm") && f.contains("force_conflicts: true"),
        "{f}"
    );
    lab.write(
        "bad.yml",
        "- hosts: localhost\n  gather_facts: no\n  tasks:\n    - k8s_apply: {kubeconfig: \"{{ kubeconfig }}\", src: \"{{ root }}/bad.yaml\", force_conflicts: true}\n",
    );
    lab.play("bad.yml", &["-e", &kc(&fake)]).assert_ok();
    let d = fake
        .get("/apis/apps/v1/namespaces/default/deployments/web")
        .unwrap();
    assert_eq!(d["spec"]["replicas"], 5);
}

#[test]
fn unreachable_and_refused_name_the_server_and_never_the_credentials() {
    let fake = ApiServer::start();
    let lab = Lab::new();
    lab.write(
        "cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
    );
    let wrong = fake.write_kubeconfig("wrong", "not-the-token-4d6f");
    lab.write(
        "u.yml",
        &format!(
            "- hosts: localhost\n  gather_facts: no\n  tasks:\n    - k8s_apply: {{host: \"https://127.0.0.1:1\", api_key: hidden-token-9b1c, src: \"{{{{ root }}}}/cm.yaml\"}}\n      ignore_errors: true\n    - k8s_apply: {{kubeconfig: \"{}\", src: \"{{{{ root }}}}/cm.yaml\"}}\n",
            wrong.display()
        ),
    );
    let out = lab.play("u.yml", &["-v"]);
    out.assert_code(2);
    let all = format!("{}{}", out.stdout, out.stderr);
    assert!(
        all.contains("cannot reach the API server https://127.0.0.1:1"),
        "{all}"
    );
    assert!(
        all.contains(&format!("the API server {}", fake.url())),
        "{all}"
    );
    assert!(all.contains("refused the credentials (401"), "{all}");
    assert!(
        !all.contains("hidden-token-9b1c") && !all.contains("not-the-token-4d6f"),
        "{all}"
    );
}

#[test]
fn kubeadms_admin_conf_with_client_certificates_works() {
    let fake = ApiServer::start();
    let lab = Lab::new();
    lab.write(
        "cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: from-admin-conf}\ndata: {a: b}\n",
    );
    lab.write(
        "a.yml",
        &format!(
            "- hosts: localhost\n  gather_facts: no\n  tasks:\n    - k8s_apply: {{src: \"{}\"}}\n",
            lab.path("cm.yaml").display()
        ),
    );
    let out = lab.run_env(
        &["run", "a.yml"],
        &[("K8S_AUTH_KUBECONFIG", fake.admin_conf().to_str().unwrap())],
    );
    out.assert_ok();
    let cm: Value = fake
        .get("/api/v1/namespaces/default/configmaps/from-admin-conf")
        .expect("applied with the admin certificate");
    assert_eq!(cm["data"]["a"], "b");
}

#[test]
fn secret_values_never_reach_any_output() {
    let fake = ApiServer::start();
    let lab = setup(&fake, "3.0");
    let kc = kc(&fake);
    for args in [
        vec!["--check", "--diff", "-vvv"],
        vec!["--diff", "-v"],
        vec!["--output", "json", "--diff"],
    ] {
        let mut a = vec!["-e", kc.as_str()];
        a.extend(args.iter().copied());
        let out = lab.play("site.yml", &a);
        out.assert_ok();
        let all = format!("{}{}", out.stdout, out.stderr);
        assert!(!all.contains("s3cr3t"), "{args:?}:\n{all}");
        for value in ["s3cr3t-k3y", "s3cr3t-pw"] {
            let b64 = base64::engine::general_purpose::STANDARD.encode(value);
            assert!(
                !all.contains(&b64),
                "{args:?} shows {value} in base64:\n{all}"
            );
        }
    }
    // A changed value shows that it changed, not what it was or is.
    lab.write("app.yaml", &app("3.0").replace("s3cr3t-pw", "s3cr3t-new"));
    let out = lab.play("site.yml", &["-e", &kc, "--diff"]);
    out.assert_ok();
    assert!(!out.stdout.contains("s3cr3t"), "{}", out.stdout);
    assert!(
        out.stdout.contains("-  DB_PASSWORD: (hidden, old value)")
            && out.stdout.contains("+  DB_PASSWORD: (hidden, new value)"),
        "{}",
        out.stdout
    );
}

#[test]
fn every_source_form_and_a_failed_job_fails_the_task_with_its_reason() {
    let fake = ApiServer::start();
    let lab = Lab::new();
    lab.write(
        "manifests/a.yaml",
        "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: from-list}}\n---\n# an empty document\n",
    );
    lab.write(
        "manifests/b.yml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: from-dir}\n",
    );
    lab.write("manifests/ignored.txt", "not: a manifest\n");
    lab.write(
        "templates/cm.yaml.j2",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: \"{{ cm_name }}\"}\ndata: {color: \"{{ color }}\"}\n",
    );
    lab.write(
        "s.yml",
        r#"
- hosts: localhost
  gather_facts: no
  vars: {cm_name: from-template, color: blue}
  tasks:
    - k8s_apply: {kubeconfig: "{{ kubeconfig }}", src: "{{ root }}/manifests"}
    - k8s_apply: {kubeconfig: "{{ kubeconfig }}", template: cm.yaml.j2}
    - k8s_apply:
        kubeconfig: "{{ kubeconfig }}"
        definition:
          - {apiVersion: v1, kind: ConfigMap, metadata: {name: from-list-arg}}
          - {apiVersion: v1, kind: ConfigMap, metadata: {name: from-list-arg-2}}
    - k8s_apply:
        kubeconfig: "{{ kubeconfig }}"
        definition: |
          apiVersion: v1
          kind: ConfigMap
          metadata: {name: from-string}
          ---
          apiVersion: v1
          kind: ConfigMap
          metadata: {name: from-string-2}
    - k8s_apply:
        kubeconfig: "{{ kubeconfig }}"
        wait: true
        wait_timeout: 20
        definition:
          apiVersion: batch/v1
          kind: Job
          metadata: {name: migrate, annotations: {fake.timonel/fail: BackoffLimitExceeded}}
          spec:
            backoffLimit: 0
            template:
              spec:
                restartPolicy: Never
                containers: [{name: m, image: shop:1, command: [python, manage.py, migrate]}]
"#,
    );
    let out = lab.play("s.yml", &["-e", &kc(&fake)]);
    out.assert_code(2);
    for name in [
        "from-list",
        "from-dir",
        "from-template",
        "from-list-arg",
        "from-list-arg-2",
        "from-string",
        "from-string-2",
    ] {
        assert!(
            fake.get(&format!("/api/v1/namespaces/default/configmaps/{name}"))
                .is_some(),
            "{name} was not applied:\n{}",
            out.stdout
        );
    }
    let cm = fake
        .get("/api/v1/namespaces/default/configmaps/from-template")
        .unwrap();
    assert_eq!(cm["data"]["color"], "blue");
    let failed = out
        .stdout
        .lines()
        .find(|l| l.contains("FAILED!"))
        .unwrap_or_default();
    assert!(
        failed.contains("Job default/migrate: the Job failed: BackoffLimitExceeded"),
        "{}",
        out.stdout
    );
    assert_eq!(out.recap("localhost").ok, 4);
}

#[test]
fn check_mode_plans_objects_in_a_namespace_an_earlier_task_creates() {
    let fake = ApiServer::start();
    let lab = Lab::new();
    lab.write(
        "n.yml",
        r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - k8s_apply:
        kubeconfig: "{{ kubeconfig }}"
        definition: {apiVersion: v1, kind: Namespace, metadata: {name: later}}
      when: not (skip_namespace | default(false))
    - k8s_apply:
        kubeconfig: "{{ kubeconfig }}"
        definition: {apiVersion: v1, kind: ConfigMap, metadata: {name: c, namespace: later}, data: {a: b}}
"#,
    );
    let kc = kc(&fake);
    // --check creates no namespace: the second task's object is shown as new, as written.
    let out = lab.play("n.yml", &["-e", &kc, "--check", "--diff"]);
    out.assert_ok();
    assert!(
        out.stdout.contains("ConfigMap later/c (absent)") && out.stdout.contains("+  a: b"),
        "{}",
        out.stdout
    );
    assert_eq!(out.recap("localhost").changed, 2);
    let out = lab.play("n.yml", &["-e", &kc, "--check", "-v"]);
    assert!(
        out.stdout
            .contains("namespace later does not exist: create it in an earlier task"),
        "{}",
        out.stdout
    );
    assert_eq!(real_writes(&fake), Vec::<String>::new());
    // A real run without the namespace fails with that reason.
    let out = lab.play("n.yml", &["-e", &kc, "-e", "skip_namespace=true"]);
    out.assert_code(2);
    assert!(
        out.stdout
            .contains("ConfigMap later/c: namespace later does not exist"),
        "{}",
        out.stdout
    );
    // With it, both are created.
    lab.play("n.yml", &["-e", &kc]).assert_ok();
    assert!(fake.get("/api/v1/namespaces/later/configmaps/c").is_some());
}
