//! playbooks/kubernetes.yml on lab hosts: an HA cluster (three control-plane nodes behind the
//! lab's API load balancer, two workers) built by the roles and the kubeadm modules, with the
//! lab's simulated kubeadm/kubelet/kubectl from its pkgs.k8s.io-shaped repository (see
//! tests/lab/k8s/repo). The containers have no systemd and cannot load kernel modules, so the
//! prerequisites and containerd roles are skipped here (tags) and a listening socket stands in
//! for containerd; both roles run for real on a VM in tests/ssh/containerd.rs.

use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use crate::kubeadm_sim::{docker, json, ok, repo_script, run_limited, step, MIN};
use crate::lab::{key, lab, own};
use crate::run_env;
use crate::support::{Lab, Out};

const CPS: [(&str, u16); 3] = [
    ("t-ha-cp1", 22391),
    ("t-ha-cp2", 22392),
    ("t-ha-cp3", 22393),
];
const WORKERS: [(&str, u16); 2] = [("t-ha-w1", 22394), ("t-ha-w2", 22395)];
/// The API's load balancer: a TCP relay to the control-plane nodes (tests/lab/k8s/lb.py).
const LB: &str = "lab-k8s-api";
const CERT_KEY: &str = "8f2b5c1e9d7a4f3b6c0e1d2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e";

fn all_hosts() -> Vec<(&'static str, u16)> {
    CPS.iter().chain(WORKERS.iter()).copied().collect()
}

/// Removes the named containers (a cluster's hosts and load balancer), also when the test
/// fails.
pub(crate) struct Containers(pub Vec<&'static str>);

impl Drop for Containers {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .arg("rm")
            .arg("-f")
            .args(&self.0)
            .output();
    }
}

/// The containers of a cluster: its hosts and its load balancer.
pub(crate) fn cluster_containers(hosts: &[(&'static str, u16)], lb: &'static str) -> Containers {
    Containers(hosts.iter().map(|h| h.0).chain([lb]).collect())
}

/// A fresh lab host with a listening socket where containerd's would be.
pub(crate) fn fresh(name: &'static str, port: u16) {
    own(name, port);
    docker(&[
        "exec",
        "-d",
        name,
        "python3",
        "-c",
        "import os,socket\nos.makedirs('/run/containerd',exist_ok=True)\n\
         s=socket.socket(socket.AF_UNIX);s.bind('/run/containerd/containerd.sock');s.listen(64)\n\
         while True: s.accept()[0].close()",
    ]);
}

/// The API's load balancer `name` in front of the control-plane nodes `cps`, on the lab
/// network; with `publish`, also on that loopback port of this machine (for the controller).
pub(crate) fn load_balancer(name: &str, cps: &[(&str, u16)], publish: Option<u16>) {
    let _ = Command::new("docker").args(["rm", "-f", name]).output();
    let mut args: Vec<String> = ["create", "--name", name, "--hostname", name]
        .iter()
        .map(|s| s.to_string())
        .collect();
    if let Some(port) = publish {
        args.extend(["--publish".into(), format!("127.0.0.1:{port}:6443")]);
    }
    args.extend(
        [
            "--label",
            "timonel-lab=1",
            "--network",
            "timonel-lab",
            "timonel-lab:bookworm",
            "python3",
            "/usr/local/bin/lb.py",
            "6443",
        ]
        .map(String::from),
    );
    args.extend(cps.iter().map(|(n, _)| format!("{n}:6443")));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    docker(&args);
    let script = format!("{}/../tests/lab/k8s/lb.py", env!("CARGO_MANIFEST_DIR"));
    docker(&["cp", &script, &format!("{name}:/usr/local/bin/lb.py")]);
    docker(&["start", name]);
}

/// The lab's pkgs.k8s.io-shaped repository, served (once for all tests) as lab-k8s-repo.
pub(crate) fn serve_repo() {
    let mut c = Command::new("bash");
    c.arg(repo_script()).arg("serve");
    let served = run_limited(c, "tests/lab/k8s/repo serve", Duration::from_secs(300));
    assert_eq!(served.code, 0, "{}", served.all());
}

/// Writes the inventory `hosts`: the nodes by group, the lab's repository, the load balancer
/// `lb` as the API endpoint, and `vars` (more `name=value` lines).
pub(crate) fn write_inventory(
    t: &Lab,
    cps: &[(&str, u16)],
    workers: &[(&str, u16)],
    lb: &str,
    vars: &str,
) {
    let line = |(n, p): &(&str, u16)| format!("{n} ansible_host=127.0.0.1 ansible_port={p}\n");
    let mut s = String::from("[k8s_control_plane]\n");
    cps.iter().for_each(|h| s.push_str(&line(h)));
    s.push_str("\n[k8s_workers]\n");
    workers.iter().for_each(|h| s.push_str(&line(h)));
    s.push_str(&format!(
        "\n[all:vars]\nansible_user=tester\nansible_ssh_private_key_file={}\n\
         kubernetes_apt_base=http://lab-k8s-repo:8080/core:/stable:\n\
         k8s_api_endpoint={lb}:6443\nk8s_kubeconfig_dest={}\n{vars}",
        key(),
        t.path("kube/admin.conf").display()
    ));
    t.write("hosts", &s);
}

fn inventory(t: &Lab, cps: &[(&str, u16)], workers: &[(&str, u16)]) {
    write_inventory(
        t,
        cps,
        workers,
        LB,
        &format!("k8s_certificate_key={CERT_KEY}\n"),
    );
}

/// Runs one of the repository's playbooks on the lab's `hosts`, without the node roles the
/// containers can't run (kernel modules, containerd as a systemd service).
pub(crate) fn run_playbook(t: &Lab, playbook: &str, extra: &[&str]) -> Out {
    let root = env!("CARGO_MANIFEST_DIR");
    let playbook = format!("{root}/../playbooks/{playbook}");
    let roles = format!("{root}/../roles");
    let mut args = vec![
        "run",
        playbook.as_str(),
        "-i",
        "hosts",
        "--skip-tags",
        "prerequisites,containerd",
    ];
    args.extend_from_slice(extra);
    run_env(t, &args, &[("ANSIBLE_ROLES_PATH", roles.as_str())])
}

fn play(t: &Lab, extra: &[&str]) -> Out {
    let out = run_playbook(t, "kubernetes.yml", extra);
    // Whatever happened, no secret reaches the output.
    assert!(
        !out.stdout.contains(CERT_KEY) && !out.stderr.contains(CERT_KEY),
        "the certificate key was printed:\n{}",
        out.stdout
    );
    assert!(
        !out.stdout.contains("BEGIN CERTIFICATE") && !out.stdout.contains("client-key-data"),
        "the kubeconfig was printed:\n{}",
        out.stdout
    );
    out
}

/// The nodes the cluster's API lists, with whether each is a control-plane node.
fn nodes() -> Vec<(String, bool)> {
    let out = ok(
        CPS[0],
        "sudo kubectl --kubeconfig /etc/kubernetes/admin.conf get nodes -o json",
        MIN,
    );
    let v = json(&out);
    let mut n: Vec<(String, bool)> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["metadata"]["name"].as_str().unwrap().to_string(),
                n["metadata"]["labels"]
                    .get("node-role.kubernetes.io/control-plane")
                    .is_some(),
            )
        })
        .collect();
    n.sort();
    n
}

fn expect_nodes(want: &[(&str, bool)]) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let got = nodes();
        let same = got.len() == want.len()
            && got
                .iter()
                .zip(want)
                .all(|((n, cp), (wn, wcp))| n == wn && cp == wcp);
        if same {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "nodes {got:?}, expected {want:?}"
        );
        thread::sleep(Duration::from_millis(300));
    }
}

/// kubeadm, logged: a wrapper ahead of /usr/bin/kubeadm in sudo's PATH records each call.
const KUBEADM_LOG: &str = "/var/log/kubeadm-calls";
fn log_kubeadm(host: (&str, u16)) {
    ok(
        host,
        &format!(
            "printf '#!/bin/sh\\necho \"$*\" >> {KUBEADM_LOG}\\nexec /usr/bin/kubeadm \"$@\"\\n' \
             | sudo tee /usr/local/sbin/kubeadm >/dev/null && sudo chmod 755 /usr/local/sbin/kubeadm \
             && sudo touch {KUBEADM_LOG}"
        ),
        MIN,
    );
}

/// The kubeadm commands run on `host` since its log was last emptied, and empties it.
fn kubeadm_calls(host: (&str, u16)) -> Vec<String> {
    let out = ok(
        host,
        &format!("sudo cat {KUBEADM_LOG}; sudo truncate -s0 {KUBEADM_LOG}"),
        MIN,
    );
    out.lines().map(str::to_string).collect()
}

fn writes(calls: &[String]) -> Vec<&String> {
    calls
        .iter()
        .filter(|c| {
            ["init", "join", "reset", "token create", "token delete"]
                .iter()
                .any(|w| c.starts_with(w))
        })
        .collect()
}

#[test]
fn ha_cluster_from_the_playbook_idempotent_renewed_and_repaired() {
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
    load_balancer(LB, &CPS, None);
    step(started, "hosts up");

    // The plan, on fresh hosts: nothing installed, nothing run.
    inventory(&t, &CPS, &WORKERS);
    let out = play(&t, &["--check", "--diff", "-v"]);
    out.assert_ok();
    assert!(
        out.stdout.contains(&format!(
            "would run kubeadm init --control-plane-endpoint {LB}:6443 --pod-network-cidr \
             10.244.0.0/16 --upload-certs --certificate-key (hidden)"
        )),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(&format!(
            "would join {LB}:6443 as a control-plane node (with the token kubeadm_init makes: \
             known after apply)"
        )) && out.stdout.contains(&format!(
            "would join {LB}:6443 as a worker (with the token kubeadm_init makes: known after apply)"
        )),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("+Signed-By: /etc/apt/keyrings/kubernetes-apt-keyring.asc"),
        "the repository's diff: {}",
        out.stdout
    );
    for h in all_hosts() {
        assert_eq!(
            ok(
                h,
                "dpkg-query -W kubeadm 2>/dev/null | wc -l; ls /etc/kubernetes 2>/dev/null | wc -l; \
                 ls /etc/apt/sources.list.d/kubernetes.sources 2>/dev/null | wc -l",
                MIN
            ),
            "0\n0\n0\n",
            "{}: --check changed the host",
            h.0
        );
    }
    assert!(!t.exists("kube/admin.conf"));
    step(started, "--check --diff shown the plan");

    // Two control-plane nodes and a worker first; the others join later.
    inventory(&t, &CPS[..2], &WORKERS[..1]);
    let out = play(&t, &[]);
    out.assert_ok();
    for h in [CPS[0], CPS[1], WORKERS[0]] {
        let r = out.recap(h.0);
        assert!(r.changed > 0 && r.failed == 0, "{}: {r:?}", h.0);
    }
    expect_nodes(&[("t-ha-cp1", true), ("t-ha-cp2", true), ("t-ha-w1", false)]);
    // The admin kubeconfig on the controller: owner-only, the node's own, the balanced endpoint.
    assert_eq!(t.mode("kube/admin.conf") & 0o777, 0o600);
    let admin = t.read("kube/admin.conf");
    assert_eq!(
        admin,
        ok(CPS[0], "sudo cat /etc/kubernetes/admin.conf", MIN)
    );
    assert!(
        admin.contains(&format!("server: https://{LB}:6443")),
        "{admin}"
    );
    // The second control plane serves the API itself, with its own certificate.
    assert!(
        ok(
            CPS[1],
            "sudo openssl x509 -noout -ext subjectAltName -in /etc/kubernetes/pki/apiserver.crt",
            MIN
        )
        .contains(&format!("DNS:{LB}")),
        "cp2's apiserver certificate lacks the endpoint"
    );
    step(started, "cluster built");

    // Again: nothing changes, and no kubeadm command that writes runs.
    for h in [CPS[0], CPS[1], WORKERS[0]] {
        log_kubeadm(h);
    }
    let out = play(&t, &[]);
    out.assert_ok();
    for h in [CPS[0], CPS[1], WORKERS[0]] {
        assert_eq!(out.recap(h.0).changed, 0, "{}\n{}", h.0, out.stdout);
        let calls = kubeadm_calls(h);
        assert!(writes(&calls).is_empty(), "{}: {calls:?}", h.0);
    }
    step(started, "second run changed nothing");

    // Later, after the join token expired and kubeadm deleted the uploaded certificates (the
    // garbage collector removes them with the token that owns them):
    // a control-plane node and a worker join; the token and the certificates are renewed.
    ok(
        CPS[0],
        "sudo kubeadm token list | awk 'NR > 1 {print $1}' | xargs -r -n1 sudo kubeadm token delete \
         >/dev/null && sudo kubectl --kubeconfig /etc/kubernetes/admin.conf -n kube-system delete \
         secret kubeadm-certs --ignore-not-found >/dev/null",
        MIN,
    );
    assert_eq!(
        ok(
            CPS[0],
            "sudo /usr/bin/kubeadm token list | tail -n +2 | wc -l",
            MIN
        ),
        "0\n"
    );
    kubeadm_calls(CPS[0]);
    inventory(&t, &CPS, &WORKERS);
    let out = play(&t, &[]);
    out.assert_ok();
    let calls = kubeadm_calls(CPS[0]);
    let renewed: Vec<_> = writes(&calls)
        .into_iter()
        .chain(
            calls
                .iter()
                .filter(|c| c.starts_with("init phase upload-certs")),
        )
        .collect();
    assert!(
        renewed.iter().any(|c| c.starts_with("token create"))
            && renewed
                .iter()
                .any(|c| c.starts_with("init phase upload-certs")),
        "{calls:?}"
    );
    assert_eq!(out.recap(CPS[0].0).changed, 1, "{}", out.stdout);
    for h in [CPS[1], WORKERS[0]] {
        assert_eq!(out.recap(h.0).changed, 0, "{}\n{}", h.0, out.stdout);
    }
    for h in [CPS[2], WORKERS[1]] {
        assert!(out.recap(h.0).changed > 0, "{}\n{}", h.0, out.stdout);
    }
    expect_nodes(&[
        ("t-ha-cp1", true),
        ("t-ha-cp2", true),
        ("t-ha-cp3", true),
        ("t-ha-w1", false),
        ("t-ha-w2", false),
    ]);
    step(started, "renewed token and certificates; cp3 and w2 joined");

    // worker-2 rebuilt, with swap left on: kubeadm's own words and the role that fixes it.
    // A rebuilt server has a new host key: its old one is removed, as the error says to.
    fresh(WORKERS[1].0, WORKERS[1].1);
    let forget = Command::new("ssh-keygen")
        .args(["-R", &format!("[127.0.0.1]:{}", WORKERS[1].1), "-f"])
        .arg(t.path("home/.ssh/known_hosts"))
        .output()
        .unwrap();
    assert!(forget.status.success(), "{forget:?}");
    ok(
        WORKERS[1],
        "sudo mkdir -p /etc/kubeadm-sim/proc && printf 'Filename\\tType\\tSize\\tUsed\\tPriority\\n\
         /swap.img\\tfile\\t2097148\\t0\\t-2\\n' | sudo tee /etc/kubeadm-sim/proc/swaps >/dev/null \
         && echo 3s | sudo tee /etc/kubeadm-sim/kubelet-timeout >/dev/null",
        MIN,
    );
    let out = play(&t, &["--limit", WORKERS[1].0]);
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("[WARNING Swap]")
            && out
                .stdout
                .contains("failed while waiting for the kubelet to start")
            && out.stdout.contains("the k8s_prerequisites role does"),
        "{}",
        out.stdout
    );
    // Swap off (what the role does): the same command repairs the node, and only it.
    ok(
        WORKERS[1],
        "sudo rm /etc/kubeadm-sim/proc/swaps /etc/kubeadm-sim/kubelet-timeout",
        MIN,
    );
    for h in [CPS[0], CPS[1], CPS[2], WORKERS[0]] {
        kubeadm_calls(h);
    }
    let out = play(&t, &["--limit", WORKERS[1].0, "-v"]);
    out.assert_ok();
    assert!(out.recap(WORKERS[1].0).changed > 0, "{}", out.stdout);
    for h in [CPS[0], CPS[1], CPS[2], WORKERS[0]] {
        assert!(
            !out.stdout.contains(&format!("{} ", h.0)) || h == CPS[0],
            "{} is in the output of a run limited to worker-2:\n{}",
            h.0,
            out.stdout
        );
        let calls = kubeadm_calls(h);
        assert!(writes(&calls).is_empty(), "{}: {calls:?}", h.0);
    }
    assert!(
        out.stdout
            .contains("reset what a failed join left on this node and joined"),
        "{}",
        out.stdout
    );
    expect_nodes(&[
        ("t-ha-cp1", true),
        ("t-ha-cp2", true),
        ("t-ha-cp3", true),
        ("t-ha-w1", false),
        ("t-ha-w2", false),
    ]);
    assert!(ok(
        WORKERS[1],
        "sudo test -f /etc/kubernetes/kubelet.conf && echo joined",
        MIN
    )
    .contains("joined"));
    // The join token the repair used (the one renewed earlier) is nowhere in its -v output.
    let tokens = ok(
        CPS[0],
        "sudo /usr/bin/kubeadm token list | awk 'NR > 1 {print $1}'",
        MIN,
    );
    assert!(!tokens.trim().is_empty());
    for token in tokens.lines() {
        assert!(
            !out.stdout.contains(token) && !out.stdout.contains(&token[7..]),
            "a join token was printed:\n{}",
            out.stdout
        );
    }
    step(started, "worker-2 repaired");
}
