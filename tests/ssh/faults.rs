use crate::lab::{exec, inventory, lab, own};
use crate::run;
use crate::support::Lab;

#[test]
fn a_host_stopped_mid_play_is_unreachable_and_the_others_finish() {
    let t = Lab::new();
    let hosts = vec![own("t-stop-a", 22231), own("t-stop-b", 22232)];
    t.write("hosts", &inventory(&hosts, "tester"));
    t.write(
        "p.yml",
        &format!(
            r#"
- hosts: lab
  gather_facts: no
  tasks:
    - command: 'true'
    - command: {lab} stop t-stop-b
      delegate_to: localhost
      run_once: true
    - copy: {{content: "finished\n", dest: /tmp/finished}}
    - command: 'true'
"#,
            lab = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../tests/lab/lab")
                .display()
        ),
    );
    let out = run(&t, &["run", "p.yml", "-i", "hosts", "-T", "3"]);
    out.assert_code(4);
    assert!(
        out.stdout.contains("fatal: [t-stop-b]: UNREACHABLE!"),
        "{}",
        out.stdout
    );
    assert_eq!(exec("t-stop-a", "cat /tmp/finished"), "finished\n");
    let b = out.recap("t-stop-b");
    assert_eq!((b.unreachable, b.failed), (1, 0), "{}", out.stdout);
    assert_eq!(out.recap("t-stop-a").ok, 4, "{}", out.stdout);
    assert_eq!(t.read("p.retry"), "t-stop-b\n");
}

#[test]
fn a_host_whose_sshd_restarts_between_tasks_is_reconnected() {
    let t = Lab::new();
    let hosts = vec![own("t-restart", 22233)];
    t.write("hosts", &inventory(&hosts, "tester"));
    t.write(
        "p.yml",
        &format!(
            r#"
- hosts: lab
  gather_facts: no
  tasks:
    - shell: echo $PPID > /tmp/session-1
    - command: {lab} restart-sshd t-restart
      delegate_to: localhost
    - shell: echo $PPID > /tmp/session-2
"#,
            lab = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../tests/lab/lab")
                .display()
        ),
    );
    let out = run(&t, &["run", "p.yml", "-i", "hosts"]);
    out.assert_ok();
    let (a, b) = (
        exec("t-restart", "cat /tmp/session-1"),
        exec("t-restart", "cat /tmp/session-2"),
    );
    assert_ne!(a, b, "the second task should run in a new session");
}

#[test]
fn a_paused_host_times_out_without_stalling_the_others() {
    let t = Lab::new();
    let hosts = vec![own("t-pause-a", 22234), own("t-pause-b", 22235)];
    t.write("hosts", &inventory(&hosts, "tester"));
    lab(&["pause", "t-pause-b"]);
    t.write(
        "p.yml",
        "- hosts: lab\n  gather_facts: no\n  tasks:\n    - copy: {content: ok, dest: /tmp/ok}\n",
    );
    let started = std::time::Instant::now();
    let out = run(&t, &["run", "p.yml", "-i", "hosts", "-T", "2"]);
    lab(&["unpause", "t-pause-b"]);
    out.assert_code(4);
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    assert!(out.stdout.contains("timed out after 2s"), "{}", out.stdout);
    assert_eq!(exec("t-pause-a", "cat /tmp/ok"), "ok");
}

#[test]
fn wait_for_connection_waits_for_a_host_to_come_back() {
    let t = Lab::new();
    let hosts = vec![own("t-comeback", 22236)];
    t.write("hosts", &inventory(&hosts, "tester"));
    t.write("p.yml", "- hosts: lab\n  gather_facts: no\n  tasks:\n    - wait_for_connection: {timeout: 60, sleep: 1}\n    - command: hostname\n      register: h\n    - assert: {that: [\"h.stdout == 't-comeback'\"]}\n");
    // Learn the host key first, as a provisioning play would.
    run(&t, &["run", "p.yml", "-i", "hosts"]).assert_ok();
    lab(&["stop", "t-comeback"]);
    let back = std::thread::spawn(|| {
        std::thread::sleep(std::time::Duration::from_secs(3));
        lab(&["start", "t-comeback"]);
    });
    let started = std::time::Instant::now();
    let out = run(&t, &["run", "p.yml", "-i", "hosts", "-T", "2"]);
    back.join().unwrap();
    out.assert_ok();
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(3),
        "it did not wait"
    );
    // A host that never comes back: the task fails (not unreachable) with the reason.
    lab(&["stop", "t-comeback"]);
    t.write(
        "q.yml",
        "- hosts: lab\n  gather_facts: no\n  tasks:\n    - wait_for_connection: {timeout: 3}\n",
    );
    let out = run(&t, &["run", "q.yml", "-i", "hosts", "-T", "1"]);
    out.assert_code(2);
    assert!(
        out.stdout.contains("timed out after") && out.stdout.contains("waiting for the connection"),
        "{}",
        out.stdout
    );
    lab(&["start", "t-comeback"]);
}
