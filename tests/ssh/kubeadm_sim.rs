//! The lab's Kubernetes simulation (tests/lab/k8s): a pkgs.k8s.io-like repository served in the
//! lab, real apt installing kubeadm, kubelet and kubectl on two hosts over SSH, and kubeadm
//! init, join (worker and control plane), token, upload-certs and reset acting on the hosts the
//! way the real ones do: files, certificates, API objects and kubeadm's messages.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::lab::{key, lab, own};
use crate::support::Lab;

const CP: (&str, u16) = ("t-k8s-cp1", 22381);
const WORKER: (&str, u16) = ("t-k8s-w1", 22382);
/// The controller's end of an SSH tunnel to the first control plane's apiserver.
const TUNNEL: u16 = 22383;
const REPO_PORT: u16 = 22380;

pub(crate) fn repo_script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/lab/k8s/repo")
}

pub(crate) struct Res {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Res {
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// Runs a command, killing it when it outlives `limit`.
pub(crate) fn run_limited(mut cmd: Command, what: &str, limit: Duration) -> Res {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    let mut so = child.stdout.take().unwrap();
    let mut se = child.stderr.take().unwrap();
    let t1 = thread::spawn(move || {
        let mut s = String::new();
        let _ = so.read_to_string(&mut s);
        s
    });
    let t2 = thread::spawn(move || {
        let mut s = String::new();
        let _ = se.read_to_string(&mut s);
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{what}: still running after {limit:?}\n{}{}",
                t1.join().unwrap(),
                t2.join().unwrap()
            );
        }
        thread::sleep(Duration::from_millis(20));
    };
    Res {
        code: status.code().unwrap_or(-1),
        stdout: t1.join().unwrap(),
        stderr: t2.join().unwrap(),
    }
}

pub(crate) fn ssh_args(port: u16) -> Vec<String> {
    [
        "-F",
        "/dev/null",
        "-p",
        &port.to_string(),
        "-i",
        &key(),
        "-o",
        "BatchMode=yes",
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "LogLevel=ERROR",
        "-o",
        "ConnectTimeout=10",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// A shell command on a lab host over SSH, as the user tester (who has sudo).
pub(crate) fn ssh(host: (&str, u16), cmd: &str, limit: Duration) -> Res {
    let mut c = Command::new("ssh");
    c.args(ssh_args(host.1)).arg("tester@127.0.0.1").arg(cmd);
    run_limited(c, &format!("ssh {}: {cmd}", host.0), limit)
}

pub(crate) fn ok(host: (&str, u16), cmd: &str, limit: Duration) -> String {
    let r = ssh(host, cmd, limit);
    assert_eq!(r.code, 0, "{}: {cmd}\n{}", host.0, r.all());
    r.stdout
}

pub(crate) fn fails(host: (&str, u16), cmd: &str, limit: Duration) -> Res {
    let r = ssh(host, cmd, limit);
    assert_eq!(
        r.code,
        1,
        "{}: {cmd} should fail with 1\n{}",
        host.0,
        r.all()
    );
    r
}

pub(crate) fn docker(args: &[&str]) -> String {
    let mut c = Command::new("docker");
    c.args(args);
    let r = run_limited(c, &format!("docker {args:?}"), Duration::from_secs(60));
    assert_eq!(r.code, 0, "docker {args:?}\n{}", r.all());
    r.stdout
}

/// Removes the hosts and the tunnel, also when the test fails.
struct Cleanup {
    tunnel: Option<Child>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(mut t) = self.tunnel.take() {
            let _ = t.kill();
            let _ = t.wait();
        }
        let _ = Command::new("docker")
            .args(["rm", "-f", CP.0, WORKER.0])
            .output();
        // The repository server stays: other tests use it at the same time (tests/run
        // removes the lab's containers at the end).
    }
}

fn http_get(port: u16, path: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to the repository");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

fn capture(text: &str, re: &str) -> String {
    regex::Regex::new(re)
        .unwrap()
        .captures(text)
        .unwrap_or_else(|| panic!("no match for {re} in\n{text}"))[1]
        .to_string()
}

/// The command a user copies from kubeadm's output: the lines after `header`, the
/// backslash-newlines and tabs removed.
fn join_command_after(out: &str, header: &str) -> String {
    let at = out
        .find(header)
        .unwrap_or_else(|| panic!("{header:?} not in\n{out}"));
    let rest = out[at + header.len()..].trim_start();
    let mut cmd = String::new();
    for line in rest.lines() {
        let l = line.trim();
        if let Some(part) = l.strip_suffix('\\') {
            cmd.push_str(part);
        } else {
            cmd.push_str(l);
            break;
        }
    }
    cmd.trim().to_string()
}

fn kubectl(t: &Lab, args: &[&str]) -> String {
    let kubeconfig = t.path("admin.conf").display().to_string();
    let server = format!("https://127.0.0.1:{TUNNEL}");
    let mut c = Command::new("kubectl");
    c.args([
        "--kubeconfig",
        &kubeconfig,
        "--server",
        &server,
        "--tls-server-name",
        CP.0,
    ])
    .args(args);
    let r = run_limited(
        c,
        &format!(
            "kubectl {args:?} (the controller's kubectl: tests/run installs kubernetes-client)"
        ),
        Duration::from_secs(60),
    );
    assert_eq!(r.code, 0, "kubectl {args:?}\n{}", r.all());
    r.stdout
}

pub(crate) fn json(s: &str) -> serde_json::Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("{e}: {s}"))
}

pub(crate) const MIN: Duration = Duration::from_secs(60);

/// Progress on stderr (shown with --nocapture and when the test fails).
pub(crate) fn step(started: Instant, what: &str) {
    eprintln!("[{:6.1}s] {what}", started.elapsed().as_secs_f64());
}

#[test]
fn kubeadm_init_join_tokens_certs_preflight_and_reset_on_simulated_packages() {
    let started = Instant::now();
    let t = Lab::new();
    let mut cleanup = Cleanup { tunnel: None };
    lab(&["image"]);

    // The repository: served in the lab and on the controller's loopback.
    let mut c = Command::new("bash");
    c.arg(repo_script()).arg("serve");
    let served = run_limited(c, "tests/lab/k8s/repo serve", Duration::from_secs(300));
    assert_eq!(served.code, 0, "{}", served.all());
    assert_eq!(served.stdout.trim(), "http://lab-k8s-repo:8080");
    let key_text = http_get(REPO_PORT, "/core:/stable:/v1.33/deb/Release.key");
    assert!(
        key_text.contains("200 OK") && key_text.contains("-----BEGIN PGP PUBLIC KEY BLOCK-----"),
        "{key_text}"
    );

    step(started, "repository served; starting the hosts");
    let hosts: Vec<_> = [CP, WORKER]
        .into_iter()
        .map(|(n, p)| thread::spawn(move || own(n, p)))
        .collect();
    for h in hosts {
        h.join().unwrap();
    }

    step(started, "hosts up; installing the packages");
    // As the install docs say: the dearmoured key, a signed-by source, apt, hold.
    let setup = "set -e; export DEBIAN_FRONTEND=noninteractive; \
        sudo -E apt-get update -q >/dev/null; sudo -E apt-get install -y -q gpg >/dev/null; \
        sudo mkdir -p -m 755 /etc/apt/keyrings; \
        curl -fsSL http://lab-k8s-repo:8080/core:/stable:/v1.33/deb/Release.key \
          | sudo gpg --dearmor -o /etc/apt/keyrings/kubernetes-apt-keyring.gpg; \
        echo 'deb [signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.gpg] \
          http://lab-k8s-repo:8080/core:/stable:/v1.33/deb/ /' \
          | sudo tee /etc/apt/sources.list.d/kubernetes.list >/dev/null; \
        sudo -E apt-get update -q >/dev/null; \
        sudo -E apt-get install -y -q kubelet kubeadm kubectl >/dev/null; \
        sudo apt-mark hold kubelet kubeadm kubectl >/dev/null; \
        sudo -E apt-get install -y -q cri-tools >/dev/null; \
        kubeadm version -o short; kubelet --version; kubectl version --client; crictl --version; \
        dpkg-query -W -f='${Package}=${Version}\\n' kubeadm kubelet kubectl cri-tools kubernetes-cni";
    let installs: Vec<_> = [CP, WORKER]
        .into_iter()
        .map(|h| thread::spawn(move || ok(h, setup, Duration::from_secs(240))))
        .collect();
    for i in installs {
        let v = i.join().unwrap();
        assert_eq!(
            v,
            "v1.33.1\nKubernetes v1.33.1\nClient Version: v1.33.1\nKustomize Version: v5.6.0\n\
             crictl version v1.33.0\ncri-tools=1.33.0-1.1\nkubeadm=1.33.1-1.1\n\
             kubectl=1.33.1-1.1\nkubelet=1.33.1-1.1\nkubernetes-cni=1.6.0-1.1\n"
        );
    }

    step(started, "packages installed");
    // No container runtime yet: kubeadm says so and stops before touching anything.
    let r = fails(CP, "sudo kubeadm init", MIN);
    assert!(
        r.stderr
            .contains("Couldn't create the interface used for talking to the container runtime")
            && r.stderr.contains(
                "dial unix /var/run/containerd/containerd.sock: connect: no such file or directory"
            ),
        "{}",
        r.all()
    );
    assert_eq!(
        ok(CP, "ls /etc/kubernetes/pki 2>/dev/null | wc -l", MIN),
        "0\n"
    );
    // A listening socket stands in for containerd (containerd itself is not simulated).
    for h in [CP.0, WORKER.0] {
        docker(&[
            "exec", "-d", h, "python3", "-c",
            "import os,socket\nos.makedirs('/run/containerd',exist_ok=True)\n\
             s=socket.socket(socket.AF_UNIX);s.bind('/run/containerd/containerd.sock');s.listen(64)\n\
             while True: s.accept()[0].close()",
        ]);
    }
    // Shorter waits than kubeadm's minutes, for the failures this test provokes.
    for h in [CP, WORKER] {
        ok(
            h,
            "sudo mkdir -p /etc/kubeadm-sim && echo 3s | sudo tee /etc/kubeadm-sim/discovery-timeout \
             >/dev/null && echo 30s | sudo tee /etc/kubeadm-sim/kubelet-timeout >/dev/null",
            MIN,
        );
    }
    let r = fails(CP, "kubeadm init", MIN);
    assert!(
        r.stderr
            .contains("\t[ERROR IsPrivilegedUser]: user is not running as root\n"),
        "{}",
        r.all()
    );

    step(started, "kubeadm init");
    // kubeadm init with a control-plane endpoint and uploaded certificates.
    let init = ok(
        CP,
        "sudo kubeadm init --control-plane-endpoint t-k8s-cp1:6443 --upload-certs \
         --pod-network-cidr 10.244.0.0/16",
        Duration::from_secs(180),
    );
    assert!(
        init.contains("Your Kubernetes control-plane has initialized successfully!"),
        "{init}"
    );
    let cert_key = capture(
        &init,
        r"\[upload-certs\] Using certificate key:\n([0-9a-f]{64})\n",
    );
    let token = capture(&init, r"--token ([a-z0-9]{6}\.[a-z0-9]{16}) ");
    let hash = capture(
        &init,
        r"--discovery-token-ca-cert-hash sha256:([0-9a-f]{64})",
    );
    let cp_join = join_command_after(
        &init,
        "You can now join any number of the control-plane node running the following command on each as root:",
    );
    assert_eq!(
        cp_join,
        format!(
            "kubeadm join t-k8s-cp1:6443 --token {token} --discovery-token-ca-cert-hash \
             sha256:{hash} --control-plane --certificate-key {cert_key}"
        )
    );
    let worker_join = join_command_after(
        &init,
        "Then you can join any number of worker nodes by running the following on each as root:",
    );
    assert_eq!(
        worker_join,
        format!("kubeadm join t-k8s-cp1:6443 --token {token} --discovery-token-ca-cert-hash sha256:{hash}")
    );
    assert!(
        init.ends_with(&format!(
            "kubeadm join t-k8s-cp1:6443 --token {token} \\\n\t--discovery-token-ca-cert-hash sha256:{hash} \n"
        )),
        "{init}"
    );
    // What init wrote, and the CA pin as openssl computes it.
    ok(
        CP,
        "cd /etc/kubernetes && sudo test -f admin.conf -a -f super-admin.conf -a -f kubelet.conf \
         -a -f controller-manager.conf -a -f scheduler.conf -a -f pki/ca.crt -a -f pki/ca.key \
         -a -f pki/apiserver.crt -a -f pki/front-proxy-ca.crt -a -f pki/etcd/ca.crt -a -f pki/sa.key \
         -a -f pki/sa.pub -a -f manifests/kube-apiserver.yaml -a -f manifests/etcd.yaml \
         -a -f manifests/kube-controller-manager.yaml -a -f manifests/kube-scheduler.yaml \
         -a -f /var/lib/kubelet/config.yaml -a -f /var/lib/kubelet/kubeadm-flags.env",
        MIN,
    );
    let pin = ok(
        CP,
        "sudo openssl x509 -pubkey -noout -in /etc/kubernetes/pki/ca.crt \
         | openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1",
        MIN,
    );
    assert_eq!(pin.trim(), hash);
    let cp_ip = ok(CP, "hostname -i | cut -d' ' -f1", MIN)
        .trim()
        .to_string();
    let sans = ok(
        CP,
        "sudo openssl x509 -noout -ext subjectAltName -in /etc/kubernetes/pki/apiserver.crt",
        MIN,
    );
    assert!(
        sans.contains("DNS:t-k8s-cp1")
            && sans.contains("DNS:kubernetes.default.svc.cluster.local")
            && sans.contains(&format!("IP Address:{cp_ip}"))
            && sans.contains("IP Address:10.96.0.1"),
        "{sans}"
    );
    let tokens = ok(CP, "sudo kubeadm token list", MIN);
    assert!(
        tokens.starts_with("TOKEN                     TTL       EXPIRES")
            && tokens.contains(&format!("{token}   23h"))
            && tokens.contains("authentication,signing   The default bootstrap token generated by 'kubeadm init'.   system:bootstrappers:kubeadm:default-node-token")
            && tokens.contains("Proxy for managing TTL for the kubeadm-certs secret"),
        "{tokens}"
    );

    step(started, "worker join");
    // The printed worker join, then the same again: kubeadm's preflight refuses.
    let joined = ok(WORKER, &format!("sudo {worker_join}"), MIN);
    assert!(
        joined.contains("This node has joined the cluster:\n* Certificate signing request was sent to apiserver and a response was received."),
        "{joined}"
    );
    let r = fails(WORKER, &format!("sudo {worker_join}"), MIN);
    assert!(
        r.stderr.contains("error execution phase preflight: [preflight] Some fatal errors occurred:\n")
            && r.stderr.contains("\t[ERROR FileAvailable--etc-kubernetes-kubelet.conf]: /etc/kubernetes/kubelet.conf already exists\n")
            && r.stderr.contains("[preflight] If you know what you are doing, you can make a check non-fatal with `--ignore-preflight-errors=...`\n"),
        "{}",
        r.all()
    );

    step(started, "the API from the controller");
    // The API from the controller: the real kubectl, admin.conf's client certificate, an SSH
    // tunnel to the apiserver, whose certificate is checked against the cluster CA.
    t.write(
        "admin.conf",
        &ok(CP, "sudo cat /etc/kubernetes/admin.conf", MIN),
    );
    let mut tunnel = Command::new("ssh");
    tunnel
        .args(ssh_args(CP.1))
        .args([
            "-N",
            "-o",
            "ExitOnForwardFailure=yes",
            "-L",
            &format!("127.0.0.1:{TUNNEL}:127.0.0.1:6443"),
            "tester@127.0.0.1",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cleanup.tunnel = Some(tunnel.spawn().expect("ssh tunnel"));
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", TUNNEL)).is_err() {
        assert!(Instant::now() < deadline, "the SSH tunnel did not open");
        thread::sleep(Duration::from_millis(50));
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    let nodes = loop {
        let n = json(&kubectl(&t, &["get", "nodes", "-o", "json"]));
        if n["items"].as_array().unwrap().len() == 2 || Instant::now() > deadline {
            break n;
        }
        thread::sleep(Duration::from_millis(200));
    };
    let items = nodes["items"].as_array().unwrap();
    let names: Vec<_> = items
        .iter()
        .map(|n| n["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["t-k8s-cp1", "t-k8s-w1"], "{nodes}");
    for n in items {
        assert_eq!(n["status"]["nodeInfo"]["kubeletVersion"], "v1.33.1", "{n}");
    }
    assert!(
        items[0]["metadata"]["labels"]
            .get("node-role.kubernetes.io/control-plane")
            .is_some(),
        "{nodes}"
    );
    assert_eq!(
        items[0]["spec"]["taints"][0]["key"],
        "node-role.kubernetes.io/control-plane"
    );
    let secret = json(&kubectl(
        &t,
        &[
            "get",
            "secret",
            "-n",
            "kube-system",
            &format!("bootstrap-token-{}", &token[..6]),
            "-o",
            "json",
        ],
    ));
    assert_eq!(secret["type"], "bootstrap.kubernetes.io/token");
    for k in [
        "token-id",
        "token-secret",
        "expiration",
        "usage-bootstrap-authentication",
        "usage-bootstrap-signing",
    ] {
        assert!(secret["data"].get(k).is_some(), "{k}: {secret}");
    }
    let certs = json(&kubectl(
        &t,
        &[
            "get",
            "secret",
            "-n",
            "kube-system",
            "kubeadm-certs",
            "-o",
            "json",
        ],
    ));
    assert_eq!(certs["data"].as_object().unwrap().len(), 8, "{certs}");

    step(started, "expired token");
    // A token past its TTL: the bootstrap signer no longer signs cluster-info for it.
    let reset = ok(WORKER, "sudo kubeadm reset -f", MIN);
    assert!(
        reset.contains("[reset] Deleting files: [/etc/kubernetes/admin.conf /etc/kubernetes/super-admin.conf /etc/kubernetes/kubelet.conf /etc/kubernetes/bootstrap-kubelet.conf /etc/kubernetes/controller-manager.conf /etc/kubernetes/scheduler.conf]")
            && reset.contains("The reset process does not perform cleanup of CNI plugin configuration,"),
        "{reset}"
    );
    assert_eq!(
        ok(WORKER, "sudo ls /etc/kubernetes/kubelet.conf 2>&1 >/dev/null | wc -l; pgrep -fc '[/]usr/bin/kubelet' || true", MIN),
        "1\n0\n"
    );
    let short = ok(
        CP,
        "sudo kubeadm token create --ttl 2s --print-join-command",
        MIN,
    );
    let short_id = capture(&short, r"--token ([a-z0-9]{6})\.");
    thread::sleep(Duration::from_secs(3));
    let r = fails(WORKER, &format!("sudo {}", short.trim()), MIN);
    assert!(
        r.stderr.contains(&format!(
            "error execution phase preflight: couldn't validate the identity of the API Server: \
             could not find a JWS signature in the cluster-info ConfigMap for token ID \"{short_id}\"\n"
        )),
        "{}",
        r.all()
    );
    assert!(
        !ok(CP, "sudo kubeadm token list", MIN).contains(&short_id),
        "the expired token is still listed"
    );

    step(started, "swap");
    // Swap on: kubeadm warns, and the kubelet (failSwapOn) will not start...
    ok(
        WORKER,
        "sudo mkdir -p /etc/kubeadm-sim/proc && printf 'Filename\\tType\\tSize\\tUsed\\tPriority\\n\
         /swap.img\\tfile\\t2097148\\t0\\t-2\\n' | sudo tee /etc/kubeadm-sim/proc/swaps >/dev/null \
         && echo 3s | sudo tee /etc/kubeadm-sim/kubelet-timeout >/dev/null",
        MIN,
    );
    let r = fails(WORKER, &format!("sudo {worker_join}"), MIN);
    assert!(
        r.stderr.contains("\t[WARNING Swap]: swap is supported for cgroup v2 only. The kubelet must be properly configured to use swap.")
            && r.stderr.contains("error execution phase kubelet-start: failed while waiting for the kubelet to start: The HTTP call equal to 'curl -sSL http://127.0.0.1:10248/healthz' returned error:")
            && r.stdout.contains("Unfortunately, an error has occurred, likely caused by:"),
        "{}",
        r.all()
    );
    assert!(
        ok(WORKER, "sudo cat /var/log/kubeadm-sim/kubelet.log", MIN)
            .contains("running with swap on is not supported, please disable swap or set --fail-swap-on flag to false"),
        "kubelet log"
    );
    // ...unless told to, through KUBELET_EXTRA_ARGS as the kubelet.service drop-in reads it.
    ok(WORKER, "sudo kubeadm reset -f >/dev/null && echo KUBELET_EXTRA_ARGS=--fail-swap-on=false | sudo tee /etc/default/kubelet >/dev/null", MIN);
    let r = ssh(WORKER, &format!("sudo {worker_join}"), MIN);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(r.stderr.contains("[WARNING Swap]"), "{}", r.all());
    ok(
        WORKER,
        "sudo kubeadm reset -f >/dev/null && echo KUBELET_EXTRA_ARGS= | sudo tee /etc/default/kubelet \
         >/dev/null && sudo rm /etc/kubeadm-sim/proc/swaps && echo 30s | sudo tee \
         /etc/kubeadm-sim/kubelet-timeout >/dev/null",
        MIN,
    );

    step(started, "ip_forward");
    // IP forwarding off, joining by address (kubeadm checks it for an IPv4 endpoint).
    ok(
        WORKER,
        "sudo mkdir -p /etc/kubeadm-sim/proc/sys/net/ipv4 && echo 0 | sudo tee \
         /etc/kubeadm-sim/proc/sys/net/ipv4/ip_forward >/dev/null",
        MIN,
    );
    let by_ip = worker_join.replace("t-k8s-cp1:6443", &format!("{cp_ip}:6443"));
    let r = fails(WORKER, &format!("sudo {by_ip}"), MIN);
    assert!(
        r.stderr.contains("\t[ERROR FileContent--proc-sys-net-ipv4-ip_forward]: /proc/sys/net/ipv4/ip_forward contents are not set to 1\n"),
        "{}",
        r.all()
    );
    let r = ssh(
        WORKER,
        &format!(
            "sudo {by_ip} --ignore-preflight-errors=FileContent--proc-sys-net-ipv4-ip_forward"
        ),
        MIN,
    );
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(
        r.stderr.contains("\t[WARNING FileContent--proc-sys-net-ipv4-ip_forward]: /proc/sys/net/ipv4/ip_forward contents are not set to 1\n")
            && r.stdout.contains("This node has joined the cluster:"),
        "{}",
        r.all()
    );
    ok(
        WORKER,
        "sudo kubeadm reset -f >/dev/null && sudo rm /etc/kubeadm-sim/proc/sys/net/ipv4/ip_forward",
        MIN,
    );

    step(started, "control-plane join");
    // A second control plane: kubeadm-certs past its lifetime, a wrong key, then the right one.
    ok(
        CP,
        "echo 2s | sudo tee /etc/kubeadm-sim/certs-ttl >/dev/null",
        MIN,
    );
    let upload = ok(
        CP,
        "sudo kubeadm init phase upload-certs --upload-certs",
        MIN,
    );
    ok(CP, "sudo rm /etc/kubeadm-sim/certs-ttl", MIN);
    let stale_key = upload.lines().last().unwrap().to_string();
    assert!(
        upload.starts_with("[upload-certs] Storing the certificates in Secret \"kubeadm-certs\" in the \"kube-system\" Namespace\n[upload-certs] Using certificate key:\n"),
        "{upload}"
    );
    // The token cleaner removes the Secret's owner token, then the garbage collector the Secret.
    let deadline = Instant::now() + Duration::from_secs(20);
    while kubectl(&t, &["get", "secrets", "-n", "kube-system", "-o", "name"])
        .contains("secret/kubeadm-certs")
    {
        assert!(
            Instant::now() < deadline,
            "kubeadm-certs outlived its 2s lifetime"
        );
        thread::sleep(Duration::from_millis(200));
    }
    let r = fails(
        WORKER,
        &format!(
            "sudo kubeadm join t-k8s-cp1:6443 --token {token} --discovery-token-ca-cert-hash \
             sha256:{hash} --control-plane --certificate-key {stale_key}"
        ),
        MIN,
    );
    assert!(
        r.stderr.contains("error execution phase control-plane-prepare/download-certs: error downloading certs: error downloading the secret: Secret \"kubeadm-certs\" was not found in the \"kube-system\" Namespace. This Secret might have expired. Please, run `kubeadm init phase upload-certs --upload-certs` on a control plane to generate a new one"),
        "{}",
        r.all()
    );
    ok(WORKER, "sudo kubeadm reset -f >/dev/null", MIN);
    let fresh_key = ok(
        CP,
        "sudo kubeadm init phase upload-certs --upload-certs | tail -1",
        MIN,
    )
    .trim()
    .to_string();
    let wrong = "0123456789abcdef".repeat(4);
    let r = fails(
        WORKER,
        &format!(
            "sudo kubeadm join t-k8s-cp1:6443 --token {token} --discovery-token-ca-cert-hash \
             sha256:{hash} --control-plane --certificate-key {wrong}"
        ),
        MIN,
    );
    assert!(
        r.stderr.contains(
            "error decoding secret data with provided key: cipher: message authentication failed"
        ),
        "{}",
        r.all()
    );
    ok(WORKER, "sudo kubeadm reset -f >/dev/null", MIN);
    let print = ok(
        CP,
        &format!("sudo kubeadm token create --print-join-command --certificate-key {fresh_key}"),
        MIN,
    );
    assert!(
        print
            .trim_end()
            .ends_with(&format!("--control-plane --certificate-key {fresh_key}")),
        "{print}"
    );
    let joined = ok(
        WORKER,
        &format!("sudo {}", print.trim()),
        Duration::from_secs(120),
    );
    assert!(
        joined.contains(
            "This node has joined the cluster and a new control plane instance was created:"
        ),
        "{joined}"
    );
    // Its own apiserver serves with its own certificate (and reaches the first one's objects).
    let worker_ip = ok(WORKER, "hostname -i | cut -d' ' -f1", MIN)
        .trim()
        .to_string();
    let seen = ok(
        WORKER,
        &format!(
            "sudo kubectl --kubeconfig /etc/kubernetes/admin.conf --server https://{worker_ip}:6443 \
             get nodes -o name"
        ),
        MIN,
    );
    assert_eq!(seen, "node/t-k8s-cp1\nnode/t-k8s-w1\n");
    let w = json(&kubectl(&t, &["get", "node", "t-k8s-w1", "-o", "json"]));
    assert!(
        w["metadata"]["labels"]
            .get("node-role.kubernetes.io/control-plane")
            .is_some(),
        "{w}"
    );

    step(started, "reset");
    // kubeadm reset on both: the apiserver stops, what init and join wrote is gone.
    let reset = ok(WORKER, "sudo kubeadm reset -f", MIN);
    assert!(
        reset.contains("[reset] Deleted contents of the etcd data directory: /var/lib/etcd"),
        "{reset}"
    );
    let reset = ok(CP, "sudo kubeadm reset -f", MIN);
    assert!(
        reset.contains("[reset] Stopping the kubelet service\n")
            && reset.contains("[reset] Deleting contents of directories: [/etc/kubernetes/manifests /var/lib/kubelet /etc/kubernetes/pki]\n"),
        "{reset}"
    );
    assert_eq!(
        ok(
            CP,
            "sudo ls -A /etc/kubernetes/manifests /etc/kubernetes/pki /var/lib/etcd | grep -v ':$' | grep -c . ; \
             sudo test -e /etc/kubernetes/admin.conf && echo admin.conf; \
             (exec 3<>/dev/tcp/127.0.0.1/6443) 2>/dev/null && echo 6443 open; \
             pgrep -fc '[k]ubelet|[i]mages.py' || true",
            MIN,
        ),
        "0\n0\n"
    );
    drop(cleanup);
    step(started, "done");
}
