//! The Debian host lab from the tests' side: shared hosts for tests that only read and write
//! their own paths, dedicated hosts for tests that break their host.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

pub fn dir() -> PathBuf {
    PathBuf::from(std::env::var("LAB_DIR").unwrap_or_else(|_| "/var/tmp/timonel-lab".into()))
}

pub fn key() -> String {
    dir().join("id_ed25519").display().to_string()
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/lab/lab")
}

pub fn lab(args: &[&str]) -> String {
    let out = Command::new("bash")
        .arg(script())
        .args(args)
        .output()
        .expect("run tests/lab/lab");
    assert!(
        out.status.success(),
        "tests/lab/lab {args:?} failed (the lab needs Docker and debootstrap: see tests/run)\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn exec(host: &str, cmd: &str) -> String {
    let out = Command::new("docker")
        .args(["exec", host, "sh", "-c", cmd])
        .output()
        .expect("docker exec");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A host of its own: (name, port).
pub fn own(name: &str, port: u16) -> (String, u16) {
    lab(&["host", name, &port.to_string()]);
    (name.to_string(), port)
}

/// Three hosts shared by the tests that do not break them.
pub fn shared() -> &'static [(String, u16)] {
    static HOSTS: OnceLock<Vec<(String, u16)>> = OnceLock::new();
    HOSTS.get_or_init(|| {
        lab(&["image"]);
        (1..=3)
            .map(|i| own(&format!("t-shared{i}"), 22200 + i))
            .collect()
    })
}

/// INI inventory lines for hosts, logging in as `user` with the lab key.
pub fn inventory(hosts: &[(String, u16)], user: &str) -> String {
    let mut s = String::from("[lab]\n");
    for (h, p) in hosts {
        s.push_str(&format!("{h} ansible_host=127.0.0.1 ansible_port={p}\n"));
    }
    s.push_str(&format!(
        "\n[lab:vars]\nansible_user={user}\nansible_ssh_private_key_file={}\n",
        key()
    ));
    s
}

fn vm_script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/lab/vm")
}

/// A VM host of its own (real kernel, systemd as init), booted from a fresh overlay of the
/// VM image: (name, port). See tests/lab/vm.
pub fn vm(name: &str, port: u16) -> (String, u16) {
    vm_reaching(name, port, &[])
}

/// A VM host that may reach the given servers on the controller's loopback, each at a guest
/// address: ("10.0.2.100:80", 22399) forwards the guest's 10.0.2.100:80 to 127.0.0.1:22399.
pub fn vm_reaching(name: &str, port: u16, servers: &[(&str, u16)]) -> (String, u16) {
    let fwd: Vec<String> = servers
        .iter()
        .map(|(guest, local)| format!("{guest}=127.0.0.1:{local}"))
        .collect();
    let out = Command::new("bash")
        .arg(vm_script())
        .args(["up", name, &port.to_string()])
        .env("VM_GUESTFWD", fwd.join(" "))
        .output()
        .expect("run tests/lab/vm");
    assert!(
        out.status.success(),
        "tests/lab/vm up {name} failed (needs qemu-system-x86 and debootstrap: see tests/run)\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (name.to_string(), port)
}

/// Runs a command as root on a VM host and returns its stdout (stderr appended on failure,
/// so an assertion shows why).
pub fn vm_exec(name: &str, cmd: &str) -> String {
    let out = Command::new("bash")
        .arg(vm_script())
        .args(["exec", name, cmd])
        .output()
        .expect("run tests/lab/vm exec");
    let mut s = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        s.push_str(&String::from_utf8_lossy(&out.stderr));
    }
    s
}

/// One VM shared by the tests that change only their own settings on it.
pub fn shared_vm() -> &'static (String, u16) {
    static VM: OnceLock<(String, u16)> = OnceLock::new();
    VM.get_or_init(|| vm("t-vm-shared", 22310))
}

/// A scratch directory whose `hosts` inventory lists the shared VM; with the host's name.
pub fn on_vm() -> (crate::support::Lab, String) {
    let t = crate::support::Lab::new();
    let host = shared_vm().clone();
    t.write("hosts", &inventory(std::slice::from_ref(&host), "tester"));
    (t, host.0)
}
