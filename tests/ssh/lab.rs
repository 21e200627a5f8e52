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
