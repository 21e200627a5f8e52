//! The README's main job, as a user runs it: tests/lab/site drives playbooks/site.yml against
//! the fake Hetzner API whose servers are lab containers (their private network a Docker
//! network, the API's load balancer a relay container). From an empty project: the plan
//! writes nothing, the run builds 3 control-plane and 2 worker nodes and deploys the Django
//! application, a re-run changes nothing, an image change touches only the application, and
//! a deleted worker is rebuilt by `--limit`, a third worker joins when worker_count says so,
//! and teardown.yml leaves nothing.

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use crate::kubeadm_sim::{json, step};
use crate::support::Out;

const NAME: &str = "t-main";
const API_PORT: &str = "22741";
const FIRST_IPV4: &str = "181";
const NODES: [&str; 5] = [
    "t-main-cp-1",
    "t-main-cp-2",
    "t-main-cp-3",
    "t-main-worker-1",
    "t-main-worker-2",
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn lab_dir() -> PathBuf {
    PathBuf::from(std::env::var("LAB_DIR").unwrap_or_else(|_| "/var/tmp/timonel-lab".into()))
        .join(format!("site-{NAME}"))
}

fn home() -> PathBuf {
    let home = lab_dir().with_extension("home");
    std::fs::create_dir_all(&home).unwrap();
    home
}

/// `tests/lab/site ARGS` with this test's lab and the binary under test.
fn site(args: &[&str]) -> Out {
    let out = Command::new("bash")
        .arg(root().join("tests/lab/site"))
        .args(args)
        .env("SITE_NAME", NAME)
        .env("SITE_API_PORT", API_PORT)
        .env("SITE_FIRST_IPV4", FIRST_IPV4)
        // Its own private range, so a lab someone runs by hand can coexist.
        .env("SITE_NETWORK", "10.241.0.0/16")
        .env("TIMONEL", env!("CARGO_BIN_EXE_timonel"))
        // Nothing of the user's (~/.ssh/known_hosts) is read or written.
        .env("HOME", home())
        .output()
        .expect("tests/lab/site runs");
    let out = Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    let dir = lab_dir();
    for secret in [
        "hcloud-token",
        "certificate-key",
        "credentials/django_secret_key",
    ] {
        let Ok(value) = std::fs::read_to_string(dir.join(secret)) else {
            continue;
        };
        let value = value.trim();
        assert!(
            !value.is_empty() && !out.stdout.contains(value) && !out.stderr.contains(value),
            "{secret} was printed:\n{}",
            out.stdout
        );
    }
    out
}

/// The fake Hetzner API: a GET with the project's token.
fn api(method: &str, path: &str) -> serde_json::Value {
    let token = std::fs::read_to_string(lab_dir().join("hcloud-token")).unwrap();
    let out = Command::new("curl")
        .args(["-s", "-X", method, "-H"])
        .arg(format!("Authorization: Bearer {}", token.trim()))
        .arg(format!("http://127.0.0.1:{API_PORT}{path}"))
        .output()
        .expect("curl");
    json(&String::from_utf8_lossy(&out.stdout))
}

/// What the fake API was asked to change so far.
fn writes() -> Vec<String> {
    api("GET", "/__fake/log")
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["method"] != "GET")
        .map(|r| format!("{} {}", r["method"], r["path"]))
        .collect()
}

fn containers() -> Vec<String> {
    let out = Command::new("docker")
        .args(["ps", "-a", "--format", "{{.Names}}"])
        .args(["--filter", &format!("name=^hcloud-{NAME}-")])
        .output()
        .unwrap();
    let mut names: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    names.sort();
    names
}

/// kubectl (this machine's) through the controller's kubeconfig, as the README says.
fn kubectl(args: &str) -> serde_json::Value {
    let conf = lab_dir().join("kube/controller.conf");
    let out = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(&conf)
        .args(args.split(' '))
        .args(["-o", "json"])
        .output()
        .expect("kubectl");
    assert!(out.status.success(), "kubectl {args}: {out:?}");
    json(&String::from_utf8_lossy(&out.stdout))
}

fn node_names() -> Vec<String> {
    let mut names: Vec<String> = kubectl("get nodes")["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["metadata"]["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

struct Down;

impl Drop for Down {
    fn drop(&mut self) {
        let _ = site(&["down"]);
    }
}

#[test]
fn main_job_plans_builds_reruns_changes_the_image_and_repairs_a_worker() {
    let started = Instant::now();
    let _down = Down;
    site(&["start"]).assert_ok();
    step(started, "an empty fake project");

    // The plan: the infrastructure to create, then every play's tasks on the servers that
    // don't exist yet, never contacted; nothing written anywhere.
    let out = site(&["plan"]);
    out.assert_ok();
    for node in NODES {
        let r = out.recap(node);
        assert!(
            r.changed > 0 && r.unreachable == 0,
            "{node}: {}",
            out.stdout
        );
    }
    assert!(
        out.stdout
            .contains("changed: [t-main-cp-2] (known after apply: not created yet)"),
        "{}",
        out.stdout
    );
    // Its summary: the nodes' plays run on five servers to be.
    assert!(
        out.stdout.contains("Nodes : ")
            && out.stdout.contains("to create on 5 hosts not created yet"),
        "{}",
        out.stdout
    );
    assert_eq!(writes(), Vec::<String>::new(), "the plan wrote to the API");
    assert_eq!(containers(), Vec::<String>::new());
    step(started, "the plan");

    let out = site(&["run"]);
    out.assert_ok();
    for node in NODES {
        assert!(out.recap(node).changed > 0, "{node}: {}", out.stdout);
    }
    assert_eq!(node_names(), NODES.to_vec());
    // Hetzner's cloud controller manager initialises the nodes.
    assert_eq!(
        crate::lab::exec("hcloud-t-main-worker-1", "cat /etc/default/kubelet"),
        "KUBELET_EXTRA_ARGS=--cloud-provider=external\n"
    );
    let web = kubectl("-n shop get deployment web");
    assert_eq!(web["status"]["availableReplicas"], 3, "{web}");
    assert_eq!(
        kubectl("-n shop get job web-migrate-1-0")["status"]["succeeded"],
        1
    );
    step(started, "the cluster and the application");

    // Again: nothing changes (add_host counts as a change, as in Ansible).
    let out = site(&["run"]);
    out.assert_ok();
    for node in NODES {
        assert_eq!(out.recap(node).changed, 0, "{node}: {}", out.stdout);
    }
    assert_eq!(out.recap("localhost").changed, 1, "{}", out.stdout);
    step(started, "the second run");

    // A new image: the plan shows the image line and the new migrations Job; the run
    // changes the application only.
    let image = ["-e", "django_image=registry.example.com/shop/web:1.1"];
    let out = site(&[&["plan"][..], &image].concat());
    out.assert_ok();
    assert!(
        out.stdout
            .contains("-        image: registry.example.com/shop/web:1.0\n+        image: registry.example.com/shop/web:1.1\n")
            && out.stdout.contains("web-migrate-1-1"),
        "{}",
        out.stdout
    );
    let out = site(&[&["run"][..], &image].concat());
    out.assert_ok();
    for node in NODES {
        assert_eq!(out.recap(node).changed, 0, "{node}: {}", out.stdout);
    }
    let web = kubectl("-n shop get deployment web");
    assert_eq!(
        web["spec"]["template"]["spec"]["containers"][0]["image"],
        "registry.example.com/shop/web:1.1"
    );
    step(started, "the new image");

    // A worker's server deleted in the cloud: --limit rebuilds it, nothing else changes.
    let id = api("GET", "/v1/servers?name=t-main-worker-2")["servers"][0]["id"].clone();
    api("DELETE", &format!("/v1/servers/{id}"));
    let out = site(&[
        "run",
        "--limit",
        "localhost,t-main-worker-2",
        "-e",
        "django_image=registry.example.com/shop/web:1.1",
    ]);
    out.assert_ok();
    assert!(out.recap("t-main-worker-2").changed > 0, "{}", out.stdout);
    assert!(!out.stdout.contains("t-main-worker-1 "), "{}", out.stdout);
    assert_eq!(node_names(), NODES.to_vec());
    step(started, "the worker rebuilt");

    // One more worker: one server created and joined, nothing else changes.
    let more = [
        "-e",
        "django_image=registry.example.com/shop/web:1.1",
        "-e",
        "worker_count=3",
    ];
    let out = site(&[&["run"][..], &more].concat());
    out.assert_ok();
    assert!(out.recap("t-main-worker-3").changed > 0, "{}", out.stdout);
    for node in NODES {
        assert_eq!(out.recap(node).changed, 0, "{node}: {}", out.stdout);
    }
    assert_eq!(
        node_names(),
        [&NODES[..], &["t-main-worker-3"]].concat(),
        "{}",
        out.stdout
    );
    step(started, "a worker added");

    // Teardown: its plan writes nothing, then nothing is left in the project.
    let before = writes().len();
    let teardown = ["playbook", "teardown.yml", "-e", "worker_count=3"];
    site(&[&teardown[..], &["--check", "--diff"]].concat()).assert_ok();
    assert_eq!(writes().len(), before, "the teardown's plan wrote");
    let out = site(&teardown);
    out.assert_ok();
    for kind in [
        "servers",
        "load_balancers",
        "networks",
        "firewalls",
        "placement_groups",
        "ssh_keys",
    ] {
        assert_eq!(
            api("GET", &format!("/v1/{kind}"))[kind],
            serde_json::json!([]),
            "{kind} left:\n{}",
            out.stdout
        );
    }
    assert_eq!(containers(), Vec::<String>::new());
    assert!(!lab_dir().join("kube/admin.conf").exists());
    let out = site(&teardown);
    out.assert_ok();
    assert_eq!(out.recap("localhost").changed, 0, "{}", out.stdout);
    step(started, "the teardown");
}
