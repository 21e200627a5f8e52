//! The node roles of playbooks/kubernetes.yml on a VM (real kernel, systemd): the kernel
//! prerequisites, Debian's real containerd (from a local mirror of Debian's packages, since the
//! VMs reach no network: tests/lab/mirror), and the lab's pkgs.k8s.io-shaped repository. The
//! runtime answers on its socket with the CRI plugin loaded, and a second run changes nothing.

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::kubeadm_cluster::serve_repo;
use crate::kubeadm_sim::run_limited;
use crate::lab::{key, vm_exec, vm_reaching};
use crate::run_env;
use crate::support::Lab;

const VM: (&str, u16) = ("t-vm-k8s-node", 22312);
/// The mirror's HTTP server on the controller's loopback, and the k8s repository's.
const MIRROR_PORT: u16 = 22397;
const REPO_PORT: u16 = 22380;

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
        let _ = Command::new("bash")
            .arg(format!("{}/../tests/lab/vm", env!("CARGO_MANIFEST_DIR")))
            .args(["kill", VM.0])
            .output();
    }
}

fn mirror() -> Server {
    let script = format!("{}/../tests/lab/mirror", env!("CARGO_MANIFEST_DIR"));
    let mut c = Command::new("bash");
    c.arg(&script).arg("build");
    let r = run_limited(c, "tests/lab/mirror build", Duration::from_secs(600));
    assert_eq!(r.code, 0, "{}", r.all());
    let dir = Command::new("bash")
        .arg(&script)
        .arg("dir")
        .output()
        .unwrap();
    let dir = String::from_utf8_lossy(&dir.stdout).trim().to_string();
    let child = Command::new("python3")
        .args(["-m", "http.server", &MIRROR_PORT.to_string()])
        .args(["--bind", "127.0.0.1", "--directory", &dir])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 -m http.server");
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", MIRROR_PORT)).is_err() {
        assert!(
            Instant::now() < deadline,
            "the mirror's server did not start"
        );
        thread::sleep(Duration::from_millis(50));
    }
    Server(child)
}

#[test]
fn node_roles_on_a_vm_install_real_containerd_and_rerun_unchanged() {
    let t = Lab::new();
    let _server = mirror();
    serve_repo();
    let (host, port) = vm_reaching(
        VM.0,
        VM.1,
        &[
            ("10.0.2.100:80", MIRROR_PORT),
            ("10.0.2.100:8080", REPO_PORT),
        ],
    );
    // The VM's Debian mirror is the local one (as on a server whose provider runs its own).
    vm_exec(
        &host,
        "echo 'deb [trusted=yes] http://10.0.2.100/debian ./' > /etc/apt/sources.list",
    );
    t.write(
        "hosts",
        &format!(
            "[k8s_workers]\n{host} ansible_host=127.0.0.1 ansible_port={port}\n\n[all:vars]\n\
             ansible_user=tester\nansible_ssh_private_key_file={}\n\
             kubernetes_apt_base=http://10.0.2.100:8080/core:/stable:\n",
            key()
        ),
    );
    let root = env!("CARGO_MANIFEST_DIR");
    let playbook = format!("{root}/../playbooks/kubernetes.yml");
    let roles = format!("{root}/../roles");
    let play = || {
        run_env(
            &t,
            &[
                "run",
                &playbook,
                "-i",
                "hosts",
                "--tags",
                "prerequisites,containerd,packages",
            ],
            &[("ANSIBLE_ROLES_PATH", roles.as_str())],
        )
    };

    let out = play();
    out.assert_ok();
    let r = out.recap(&host);
    assert!(r.changed > 0 && r.failed == 0, "{r:?}\n{}", out.stdout);
    // No cluster play ran: the tags select the node roles only.
    assert!(!out.stdout.contains("kubeadm init"), "{}", out.stdout);

    // containerd is Debian's, running, configured for the systemd cgroup driver, with CRI on.
    let state = vm_exec(
        &host,
        "dpkg-query -W -f='${Package} ${Status}\\n' containerd runc kubelet kubeadm kubectl; \
         systemctl is-active containerd; systemctl is-enabled kubelet; \
         grep -c 'SystemdCgroup = true' /etc/containerd/config.toml; \
         grep -c 'disabled_plugins = \\[\\]' /etc/containerd/config.toml; \
         ctr --address /run/containerd/containerd.sock version | grep -A1 '^Server:' | tail -1; \
         ctr plugins ls | awk '$2 == \"cri\" {print $1, $2, $4}'; \
         kubeadm version -o short; apt-mark showhold | sort | tr '\\n' ' '; echo; \
         sysctl -n net.ipv4.ip_forward net.bridge.bridge-nf-call-iptables",
    );
    let lines: Vec<&str> = state.lines().collect();
    assert_eq!(
        &lines[..5],
        [
            "containerd install ok installed",
            "kubeadm hold ok installed",
            "kubectl hold ok installed",
            "kubelet hold ok installed",
            "runc install ok installed",
        ],
        "{state}"
    );
    assert_eq!(&lines[5..9], ["active", "enabled", "1", "1"], "{state}");
    assert!(
        lines[9].contains("Version:"),
        "ctr reached no server: {state}"
    );
    assert_eq!(lines[10], "io.containerd.grpc.v1 cri ok", "{state}");
    assert_eq!(
        &lines[11..],
        ["v1.33.1", "kubeadm kubectl kubelet ", "1", "1"],
        "{state}"
    );

    // Again: nothing to do.
    let out = play();
    out.assert_ok();
    assert_eq!(out.recap(&host).changed, 0, "{}", out.stdout);
}
