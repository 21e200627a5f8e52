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
