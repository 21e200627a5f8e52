use crate::lab::{inventory, key, lab, own, shared};
use crate::support::Lab;
use crate::{run, run_env};

const PING: &str = "- hosts: all\n  gather_facts: no\n  tasks:\n    - ping:\n";

#[test]
fn new_host_keys_are_recorded_and_a_changed_key_is_refused() {
    let t = Lab::new();
    let hosts = vec![own("t-rekey", 22241)];
    t.write("hosts", &inventory(&hosts, "tester"));
    t.write("p.yml", PING);
    run(&t, &["run", "p.yml", "-i", "hosts"]).assert_ok();
    let known = t.read("home/.ssh/known_hosts");
    assert!(
        known.starts_with("[127.0.0.1]:22241 ssh-ed25519 "),
        "{known}"
    );
    lab(&["rekey", "t-rekey"]);
    let out = run(&t, &["run", "p.yml", "-i", "hosts"]);
    out.assert_code(4);
    let kh = t.path("home/.ssh/known_hosts").display().to_string();
    assert!(
        out.stdout.contains("has CHANGED") && out.stdout.contains(&format!("line 1 of {kh}")),
        "{}",
        out.stdout
    );
    assert_eq!(
        t.read("home/.ssh/known_hosts"),
        known,
        "a changed key must not be recorded"
    );
}

#[test]
fn strict_checking_refuses_unknown_hosts_and_accepts_hashed_entries() {
    let t = Lab::new();
    let hosts = &shared()[..1];
    let port = hosts[0].1.to_string();
    t.write("hosts", &inventory(hosts, "tester"));
    t.write("p.yml", PING);
    t.write("home/.ssh/config", "Host *\n  StrictHostKeyChecking yes\n");
    let out = run(&t, &["run", "p.yml", "-i", "hosts"]);
    out.assert_code(4);
    assert!(
        out.stdout.contains("is not in") && out.stdout.contains("StrictHostKeyChecking is yes"),
        "{}",
        out.stdout
    );
    let scan = std::process::Command::new("ssh-keyscan")
        .args(["-H", "-p", &port, "127.0.0.1"])
        .output()
        .unwrap();
    let hashed = String::from_utf8_lossy(&scan.stdout).into_owned();
    assert!(hashed.starts_with("|1|"), "{hashed}");
    t.write("home/.ssh/known_hosts", &hashed);
    run(&t, &["run", "p.yml", "-i", "hosts"]).assert_ok();
}

#[test]
fn ssh_config_aliases_and_the_agent() {
    let t = Lab::new();
    let (name, port) = shared()[0].clone();
    let _ = name;
    // The alias lives in a file the main config includes.
    t.write("home/.ssh/config", "Include ~/.ssh/config.d/*.conf\n");
    t.write("home/.ssh/config.d/lab.conf", &format!("Host web-alias\n  HostName 127.0.0.1\n  Port {port}\n  User tester\n  IdentityFile {}\n", key()));
    t.write("hosts", "web-alias\n");
    t.write("p.yml", "- hosts: all\n  gather_facts: no\n  tasks:\n    - command: hostname\n      register: h\n    - assert: {that: [\"h.stdout.startswith('t-shared')\"]}\n");
    run(&t, &["run", "p.yml", "-i", "hosts"]).assert_ok();
    // No key file anywhere, only an agent holding the key.
    let sock = t.path("agent.sock").display().to_string();
    let agent = std::process::Command::new("ssh-agent")
        .args(["-a", &sock])
        .output()
        .unwrap();
    assert!(agent.status.success());
    let add = std::process::Command::new("ssh-add")
        .arg(key())
        .env("SSH_AUTH_SOCK", &sock)
        .output()
        .unwrap();
    assert!(
        add.status.success(),
        "{}",
        String::from_utf8_lossy(&add.stderr)
    );
    t.write(
        "agent-hosts",
        &format!("h ansible_host=127.0.0.1 ansible_port={port} ansible_user=tester\n"),
    );
    let out = run_env(
        &t,
        &["run", "p.yml", "-i", "agent-hosts"],
        &[("SSH_AUTH_SOCK", &sock)],
    );
    let pid = String::from_utf8_lossy(&agent.stdout)
        .split("SSH_AGENT_PID=")
        .nth(1)
        .and_then(|s| s.split(';').next())
        .unwrap_or("")
        .to_string();
    let _ = std::process::Command::new("kill").arg(pid).status();
    out.assert_ok();
    // And with neither, the error says what was tried.
    let out = run(&t, &["run", "p.yml", "-i", "agent-hosts"]);
    out.assert_code(4);
    assert!(
        out.stdout
            .contains("authentication failed for tester@127.0.0.1"),
        "{}",
        out.stdout
    );
}

#[test]
fn ecdsa_rsa_and_passphrase_protected_keys() {
    let t = Lab::new();
    let hosts = [own("t-keytypes", 22242)];
    t.write("p.yml", PING);
    for (kind, pass) in [("ecdsa", ""), ("rsa", ""), ("ed25519", "s3cret phrase")] {
        let key = t.path(&format!("id_{kind}")).display().to_string();
        let made = std::process::Command::new("ssh-keygen")
            .args(["-q", "-t", kind, "-N", pass, "-f", &key])
            .status()
            .unwrap();
        assert!(made.success());
        let public = std::fs::read_to_string(format!("{key}.pub")).unwrap();
        crate::lab::exec(
            "t-keytypes",
            &format!(
                "echo '{}' >> /home/tester/.ssh/authorized_keys",
                public.trim()
            ),
        );
        t.write("hosts", &format!("h ansible_host=127.0.0.1 ansible_port={} ansible_user=tester ansible_ssh_private_key_file={key}\n", hosts[0].1));
        let env: Vec<(&str, &str)> = if pass.is_empty() {
            vec![]
        } else {
            vec![("TIMONEL_SSH_PASSPHRASE", pass)]
        };
        let out = run_env(&t, &["run", "p.yml", "-i", "hosts"], &env);
        out.assert_ok();
        if !pass.is_empty() {
            let out = run_env(
                &t,
                &["run", "p.yml", "-i", "hosts"],
                &[("TIMONEL_SSH_PASSPHRASE", "wrong")],
            );
            out.assert_code(4);
            assert!(out.stdout.contains("cannot decrypt"), "{}", out.stdout);
        }
    }
}
