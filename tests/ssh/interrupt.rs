//! An interrupted run ends what it started on its hosts: a command without a terminal
//! outlives its SSH connection, so Ctrl-C and SIGTERM end its process group over the
//! connection before timonel exits (99, as Ansible).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::lab::{exec, inventory, own};
use crate::support::Lab;

/// The host for these tests; `TIMONEL_LAB_INTERRUPT_HOST=name:port` picks another.
/// Started once: the tests share it (each sleeps for its own number of seconds).
fn host() -> (String, u16) {
    static HOST: std::sync::OnceLock<(String, u16)> = std::sync::OnceLock::new();
    HOST.get_or_init(|| {
        let spec = std::env::var("TIMONEL_LAB_INTERRUPT_HOST")
            .unwrap_or_else(|_| "t-interrupt:22245".into());
        let (name, port) = spec.split_once(':').expect("name:port");
        own(name, port.parse().expect("port"))
    })
    .clone()
}

/// The host's processes running `what` (their command lines).
fn running(host: &str, what: &str) -> Vec<String> {
    exec(host, "ps -eo args")
        .lines()
        .filter(|l| l.starts_with(what))
        .map(str::to_string)
        .collect()
}

fn until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    done()
}

/// Starts `sleep SECS` and `sleep SECS+1` (a background child and a foreground one), interrupts
/// the run with `signal` once they run, and checks they are gone.
fn interrupted_with(signal: i32, secs: u32) {
    let t = Lab::new();
    let (name, port) = host();
    let hosts = vec![(name.clone(), port)];
    t.write("hosts", &inventory(&hosts, "tester"));
    t.write(
        "p.yml",
        &format!(
            "- hosts: lab\n  gather_facts: no\n  tasks:\n    - command: 'true'\n    - shell: 'sleep {secs} & sleep {}'\n",
            secs + 1
        ),
    );
    let home = t.path("home");
    std::fs::create_dir_all(&home).expect("home");
    let child = Command::new(env!("CARGO_BIN_EXE_timonel"))
        .args(["run", "p.yml", "-i", "hosts"])
        .current_dir(t.root())
        .env("HOME", &home)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run timonel");
    let sleeping = format!("sleep {secs}");
    assert!(
        until(Duration::from_secs(30), || !running(&name, &sleeping)
            .is_empty()),
        "the task never started on {name}"
    );
    // SAFETY: kill(2) on our own child.
    unsafe {
        libc::kill(child.id() as i32, signal);
    }
    let start = Instant::now();
    let out = child.wait_with_output().expect("wait");
    let took = start.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(99), "{stdout}");
    assert!(took < Duration::from_secs(3), "exit took {took:?}");
    assert!(stdout.contains("User interrupted execution"), "{stdout}");
    let left = |n: u32| running(&name, &format!("sleep {n}"));
    assert!(
        until(Duration::from_secs(2), || (secs..secs + 2)
            .all(|n| left(n).is_empty())),
        "still running on {name} after the interrupt: {:?} {:?}",
        left(secs),
        left(secs + 1)
    );
}

#[test]
fn ctrl_c_ends_the_command_running_on_a_host() {
    interrupted_with(libc::SIGINT, 301);
}

#[test]
fn sigterm_ends_the_command_running_on_a_host() {
    interrupted_with(libc::SIGTERM, 311);
}

#[test]
fn an_interrupt_ends_a_command_run_with_become() {
    let t = Lab::new();
    let (name, port) = host();
    t.write("hosts", &inventory(&[(name.clone(), port)], "tester"));
    t.write(
        "p.yml",
        "- hosts: lab\n  gather_facts: no\n  become: yes\n  tasks:\n    - command: sleep 321\n",
    );
    let home = t.path("home");
    std::fs::create_dir_all(&home).expect("home");
    let mut child = Command::new(env!("CARGO_BIN_EXE_timonel"))
        .args(["run", "p.yml", "-i", "hosts"])
        .current_dir(t.root())
        .env("HOME", &home)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("run timonel");
    assert!(
        until(Duration::from_secs(30), || !running(&name, "sleep 321")
            .is_empty()),
        "the task never started on {name}"
    );
    // SAFETY: kill(2) on our own child.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    assert_eq!(child.wait().expect("wait").code(), Some(99));
    assert!(
        until(Duration::from_secs(2), || running(&name, "sleep 321")
            .is_empty()),
        "the root-owned command outlived the run: {:?}",
        running(&name, "sleep 321")
    );
}
