//! The django role (roles/django) against the fake Kubernetes API server: the plan on an empty
//! cluster, the first run, an unchanged re-run, the autoscaler's replicas left alone, and a
//! new image tag (its migrations Job, waited for, then the Deployment's image), checked with
//! kubectl as a user would.

use std::path::PathBuf;

use base64::Engine;
use serde_json::Value;

use crate::k8s_fake::{ApiServer, Request};
use crate::support::{Lab, Out};

const IMAGE: &str = "registry.example.com/shop/web";
/// The fake's time from a Job's creation to its completion (--job-seconds).
const JOB_SECONDS: f64 = 0.6;

const SITE: &str = "- hosts: localhost\n  gather_facts: no\n  roles:\n    - django\n";

fn roles() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../roles")
        .display()
        .to_string()
}

fn run(lab: &Lab, fake: &ApiServer, extra: &[&str]) -> Out {
    let kc = format!("django_kubeconfig={}", fake.kubeconfig().display());
    let mut args = vec!["run", "site.yml", "-e", kc.as_str()];
    args.extend_from_slice(extra);
    let roles = roles();
    lab.run_env(&args, &[("ANSIBLE_ROLES_PATH", roles.as_str())])
}

/// The writes that were not dry runs, as "METHOD path status".
fn real_writes(fake: &ApiServer) -> Vec<String> {
    fake.log()
        .into_iter()
        .filter(|r| r.method != "GET" && !r.dry_run)
        .map(|r| r.line())
        .collect()
}

/// Each object's diff in --diff output: its "before" header and its changed lines.
fn diffs(stdout: &str) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = vec![];
    for line in stdout.lines() {
        if let Some(h) = line.strip_prefix("--- before: ") {
            out.push((h.to_string(), vec![]));
        } else if line.starts_with("+++ ") || line.starts_with("@@") {
            continue;
        } else if line.starts_with('+') || line.starts_with('-') {
            if let Some(last) = out.last_mut() {
                last.1.push(line.to_string());
            }
        }
    }
    out
}

fn kubectl_json(fake: &ApiServer, args: &[&str]) -> Value {
    let mut a = vec!["-n", "shop", "get"];
    a.extend_from_slice(args);
    a.extend(["-o", "json"]);
    let out = fake.kubectl(&a);
    assert_eq!(out.code, 0, "kubectl {a:?}: {}", out.stderr);
    serde_json::from_str(&out.stdout).expect("kubectl prints JSON")
}

/// Index in the request log of the first real write to `path` from index `from` on.
fn first_write(log: &[Request], path: &str, from: usize) -> usize {
    log.iter()
        .enumerate()
        .skip(from)
        .find(|(_, r)| r.path == path && r.method == "PATCH" && !r.dry_run)
        .map(|(i, _)| i)
        .unwrap_or_else(|| panic!("no write to {path}"))
}

/// Seconds between the real writes of the Job and of the Deployment, from index `from` on:
/// at least the fake's --job-seconds when the role waited for the Job to complete.
fn job_to_deployment(log: &[Request], job: &str, deploy: &str, from: usize) -> f64 {
    log[first_write(log, deploy, from)].at - log[first_write(log, job, from)].at
}

/// Index of the last request (the wait's reads) about `path`.
fn last_request(log: &[Request], path: &str) -> usize {
    log.iter()
        .rposition(|r| r.path.starts_with(path))
        .unwrap_or_else(|| panic!("no request for {path}"))
}

#[test]
fn the_django_role_plans_deploys_keeps_its_secrets_and_rolls_a_new_image() {
    let fake = ApiServer::start_with(&["--rollout-seconds", "0.3", "--job-seconds", "0.6"]);
    let lab = Lab::new();
    lab.write("site.yml", SITE);

    // The plan on an empty cluster: every object an addition, nothing written to the API.
    let out = run(&lab, &fake, &["--check", "--diff"]);
    out.assert_ok();
    let heads: Vec<String> = diffs(&out.stdout).into_iter().map(|d| d.0).collect();
    assert_eq!(
        heads,
        [
            "Namespace shop (absent)",
            "Secret shop/web-secrets (absent)",
            "ConfigMap shop/web-settings (absent)",
            "Service shop/web-postgres (absent)",
            "StatefulSet shop/web-postgres (absent)",
            "Job shop/web-migrate-1-0 (absent)",
            "Deployment shop/web (absent)",
            "Service shop/web (absent)",
            "Ingress shop/web (absent)",
            "HorizontalPodAutoscaler shop/web (absent)",
        ],
        "{}",
        out.stdout
    );
    assert_eq!(out.recap("localhost").changed, 3, "{}", out.stdout);
    assert_eq!(real_writes(&fake), Vec::<String>::new());
    // The secrets are made on the controller once (as Ansible's lookup does, --check too),
    // mode 0600, and appear in no output.
    let secret_key = lab.read("credentials/shop/django_secret_key");
    let db_password = lab.read("credentials/shop/postgres_password");
    assert_eq!(
        (secret_key.trim_end().len(), db_password.trim_end().len()),
        (50, 32)
    );
    assert_eq!(lab.mode("credentials/shop/django_secret_key"), 0o600);
    assert_eq!(lab.mode("credentials/shop/postgres_password"), 0o600);
    assert!(!out.stdout.contains(secret_key.trim_end()));
    assert!(!out.stdout.contains(db_password.trim_end()));

    // The first run creates everything, the migrations complete before the Deployment.
    let out = run(&lab, &fake, &[]);
    out.assert_ok();
    assert_eq!(out.recap("localhost").changed, 3, "{}", out.stdout);
    let log = fake.log();
    let job = kubectl_json(&fake, &["job", "web-migrate-1-0"]);
    assert_eq!(job["status"]["succeeded"], 1, "{job}");
    assert_eq!(
        job["spec"]["template"]["spec"]["containers"][0]["command"],
        serde_json::json!(["python", "manage.py", "migrate", "--noinput"])
    );
    let deploy = "/apis/apps/v1/namespaces/shop/deployments/web";
    let job_path = "/apis/batch/v1/namespaces/shop/jobs/web-migrate-1-0";
    assert!(
        last_request(&log, job_path) < first_write(&log, deploy, 0),
        "the Deployment was written before the Job was complete"
    );
    let waited = job_to_deployment(&log, job_path, deploy, 0);
    assert!(waited >= JOB_SECONDS, "waited {waited}s for the Job");
    let d = kubectl_json(&fake, &["deployment", "web"]);
    assert_eq!(d["spec"]["replicas"], 3);
    assert_eq!(d["status"]["availableReplicas"], 3, "rolled out: {d}");
    let c = &d["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c["image"], format!("{IMAGE}:1.0"));
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/livez");
    assert_eq!(c["resources"]["requests"]["cpu"], "250m");
    assert_eq!(c["resources"]["limits"]["memory"], "512Mi");
    assert_eq!(c["envFrom"][1]["secretRef"]["name"], "web-secrets");
    let sts = kubectl_json(&fake, &["statefulset", "web-postgres"]);
    let claim = &sts["spec"]["volumeClaimTemplates"][0]["spec"];
    assert_eq!(claim["storageClassName"], "hcloud-volumes");
    assert_eq!(claim["resources"]["requests"]["storage"], "10Gi");
    assert_eq!(sts["status"]["readyReplicas"], 1, "{sts}");
    let ing = kubectl_json(&fake, &["ingress", "web"]);
    assert_eq!(ing["spec"]["rules"][0]["host"], "shop.example.com");
    assert_eq!(ing["spec"]["ingressClassName"], "traefik");
    assert_eq!(
        ing["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"],
        "web"
    );
    let hpa = kubectl_json(&fake, &["hpa", "web"]);
    assert_eq!(
        (&hpa["spec"]["minReplicas"], &hpa["spec"]["maxReplicas"]),
        (&Value::from(3), &Value::from(10))
    );
    assert_eq!(hpa["spec"]["scaleTargetRef"]["name"], "web");
    let svc = kubectl_json(&fake, &["service", "web"]);
    assert_eq!(svc["spec"]["ports"][0]["port"], 80);
    // The Secret holds the values kept on the controller.
    let secret = kubectl_json(&fake, &["secret", "web-secrets"]);
    let value = |k: &str| {
        let b = secret["data"][k].as_str().unwrap_or_default();
        String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(b)
                .expect("base64"),
        )
        .unwrap()
    };
    assert_eq!(value("SECRET_KEY"), secret_key.trim_end());
    assert_eq!(value("POSTGRES_PASSWORD"), db_password.trim_end());
    let cm = kubectl_json(&fake, &["configmap", "web-settings"]);
    assert_eq!(cm["data"]["POSTGRES_HOST"], "web-postgres");
    assert_eq!(cm["data"]["ALLOWED_HOSTS"], "shop.example.com");

    // Nothing shows the generated secrets: not -v, not --output json, not a diff.
    for extra in [
        &["--check", "--diff", "-v"][..],
        &["--output", "json", "--diff"][..],
    ] {
        let out = run(&lab, &fake, extra);
        out.assert_ok();
        let all = format!("{}{}", out.stdout, out.stderr);
        for secret in [secret_key.trim_end(), db_password.trim_end()] {
            let b64 = base64::engine::general_purpose::STANDARD.encode(secret);
            assert!(
                !all.contains(secret) && !all.contains(&b64),
                "{extra:?} shows a secret:\n{all}"
            );
        }
    }

    // A re-run changes nothing and writes nothing; the secrets stay.
    let before = real_writes(&fake).len();
    let out = run(&lab, &fake, &["--diff"]);
    out.assert_ok();
    assert_eq!(out.recap("localhost").changed, 0, "{}", out.stdout);
    assert_eq!(real_writes(&fake).len(), before, "{:?}", real_writes(&fake));
    assert_eq!(lab.read("credentials/shop/django_secret_key"), secret_key);

    // The autoscaler scales to 5: a re-run leaves that alone.
    let scaled = fake.kubectl(&["-n", "shop", "scale", "deployment", "web", "--replicas=5"]);
    assert_eq!(scaled.code, 0, "{}", scaled.stderr);
    let out = run(&lab, &fake, &["--diff"]);
    assert_eq!(out.recap("localhost").changed, 0, "{}", out.stdout);
    assert_eq!(
        kubectl_json(&fake, &["deployment", "web"])["spec"]["replicas"],
        5
    );

    // A new image: the plan is exactly the new migrations Job and the image line.
    let new_image = format!("django_image={IMAGE}:1.1");
    let before = real_writes(&fake).len();
    let out = run(&lab, &fake, &["-e", &new_image, "--check", "--diff"]);
    out.assert_ok();
    let d = diffs(&out.stdout);
    let heads: Vec<&str> = d.iter().map(|x| x.0.as_str()).collect();
    assert_eq!(
        heads,
        [
            "Job shop/web-migrate-1-1 (absent)",
            "Deployment shop/web (live)"
        ],
        "{}",
        out.stdout
    );
    assert!(
        d[0].1.contains(&format!("+        image: {IMAGE}:1.1")),
        "{:?}",
        d[0].1
    );
    assert_eq!(
        d[1].1,
        [
            format!("-        image: {IMAGE}:1.0"),
            format!("+        image: {IMAGE}:1.1")
        ],
        "{}",
        out.stdout
    );
    assert_eq!(out.recap("localhost").changed, 2);
    assert_eq!(real_writes(&fake).len(), before, "--check wrote");

    // Applied: the Job runs to completion first, then the Deployment rolls over.
    let log_start = fake.log().len();
    let out = run(&lab, &fake, &["-e", &new_image]);
    out.assert_ok();
    assert_eq!(out.recap("localhost").changed, 2, "{}", out.stdout);
    let log = fake.log();
    let job = kubectl_json(&fake, &["job", "web-migrate-1-1"]);
    assert_eq!(job["status"]["succeeded"], 1, "{job}");
    let writes: Vec<String> = real_writes(&fake)[before..].to_vec();
    assert_eq!(
        writes,
        [
            "PATCH /apis/batch/v1/namespaces/shop/jobs/web-migrate-1-1 201",
            "PATCH /apis/apps/v1/namespaces/shop/deployments/web 200",
        ],
        "only the Job and the Deployment are written"
    );
    assert!(
        last_request(&log, "/apis/batch/v1/namespaces/shop/jobs/web-migrate-1-1")
            < first_write(&log, deploy, log_start),
        "the Deployment was written before the new Job was complete"
    );
    let job_path = "/apis/batch/v1/namespaces/shop/jobs/web-migrate-1-1";
    let waited = job_to_deployment(&log, job_path, deploy, log_start);
    assert!(waited >= JOB_SECONDS, "waited {waited}s for the Job");
    let d = kubectl_json(&fake, &["deployment", "web"]);
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["image"],
        format!("{IMAGE}:1.1")
    );
    assert_eq!(d["spec"]["replicas"], 5, "the autoscaler's count stays");
    // The earlier release's Job stays, as the record of its migrations.
    assert_eq!(
        kubectl_json(&fake, &["job", "web-migrate-1-0"])["status"]["succeeded"],
        1
    );
    let out = run(&lab, &fake, &["-e", &new_image]);
    assert_eq!(out.recap("localhost").changed, 0, "{}", out.stdout);
}
