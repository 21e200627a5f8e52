//! The control and transfer modules, and task keywords not covered elsewhere.

use crate::support::{recap, Lab};

#[test]
fn fetch_and_slurp_bring_files_back_to_the_controller() {
    let lab = Lab::new();
    lab.write("remote/admin.conf", "apiVersion: v1\n");
    lab.write(
        "f.yml",
        r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - fetch: {src: "{{ root }}/remote/admin.conf", dest: "{{ root }}/fetched"}
    - fetch: {src: "{{ root }}/remote/admin.conf", dest: "{{ root }}/kubeconfig", flat: yes}
    - slurp: {src: "{{ root }}/remote/admin.conf"}
      register: s
    - copy: {content: "{{ s.content | b64decode }}", dest: "{{ root }}/decoded"}
    - fetch: {src: "{{ root }}/remote/missing", dest: "{{ root }}/x", fail_on_missing: no}
"#,
    );
    let out = lab.play("f.yml", &[]);
    out.assert_ok();
    let nested = format!(
        "fetched/localhost{}/remote/admin.conf",
        lab.root().display()
    );
    assert_eq!(lab.read(&nested), "apiVersion: v1\n");
    assert_eq!(lab.read("kubeconfig"), "apiVersion: v1\n");
    assert_eq!(lab.read("decoded"), "apiVersion: v1\n");
    assert_eq!(lab.play("f.yml", &[]).recap("localhost").changed, 0);
}

#[test]
fn fetch_refuses_a_host_name_or_src_that_leaves_dest() {
    let lab = Lab::new();
    lab.write("remote/secret", "x\n");
    lab.write("hosts", "../../escaped ansible_connection=local\n");
    lab.write(
        "f.yml",
        r#"
- hosts: all
  gather_facts: no
  tasks:
    - fetch: {src: "{{ root }}/remote/secret", dest: "{{ root }}/fetched/"}
"#,
    );
    let out = lab.play("f.yml", &["-i", "hosts"]);
    out.assert_code(2);
    assert!(
        out.stdout.contains("would write outside dest"),
        "{}",
        out.stdout
    );
    assert!(!lab.exists("escaped"), "{}", out.stdout);
    assert!(!lab.root().parent().unwrap().join("escaped").exists());
}

#[test]
fn wait_for_a_port_and_a_path() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let open = listener.local_addr().unwrap().port();
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let lab = Lab::new();
    lab.write(
        "w.yml",
        r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - wait_for: {port: "{{ open }}", timeout: 5}
    - wait_for: {port: "{{ closed }}", state: stopped, timeout: 5}
    - shell: (sleep 1; touch {{ root }}/ready) > /dev/null 2>&1 &
    - wait_for: {path: "{{ root }}/ready", timeout: 10}
    - wait_for: {port: "{{ closed }}", timeout: 1, msg: "API server not up"}
"#,
    );
    let out = lab.play(
        "w.yml",
        &[
            "-e",
            &format!("open={open}"),
            "-e",
            &format!("closed={closed}"),
        ],
    );
    drop(listener);
    out.assert_code(2);
    assert!(out.stdout.contains("API server not up"), "{}", out.stdout);
    assert_eq!(out.recap("localhost"), recap(4, 1, 1, 0));
}

#[test]
fn no_log_hides_results_and_environment_reaches_commands() {
    let lab = Lab::new();
    lab.write(
        "n.yml",
        r#"
- hosts: localhost
  gather_facts: no
  environment:
    FROM_PLAY: play
  tasks:
    - shell: echo "$FROM_PLAY $FROM_TASK s3cr3t"
      environment: {FROM_TASK: task}
      register: e
      no_log: true
    - shell: echo "{{ e.stdout }}" > {{ root }}/env
    - command: "false"
      no_log: true
      ignore_errors: true
"#,
    );
    let out = lab.play("n.yml", &["-v"]);
    out.assert_ok();
    assert_eq!(lab.read("env"), "play task s3cr3t\n");
    // With -v every result is printed, except those of no_log tasks.
    let sections: Vec<&str> = out.stdout.split("TASK [").collect();
    assert!(
        sections[1].contains("censored") && !sections[1].contains("s3cr3t"),
        "{}",
        out.stdout
    );
    assert!(sections[2].contains("s3cr3t"), "{}", out.stdout);
    assert!(
        sections[3].contains("censored") && sections[3].contains("...ignoring"),
        "{}",
        out.stdout
    );
}

/// no_log hides a task's values in every output: text at -vvv, --diff, --output json, loop
/// items and the failure line.
#[test]
fn no_log_hides_secrets_in_every_output() {
    let lab = Lab::new();
    lab.write(
        "s.yml",
        r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - copy: {content: "token=s3cr3t-file\n", dest: "{{ root }}/secret.conf"}
      no_log: true
    - debug: {msg: "{{ item }}"}
      loop: [s3cr3t-item]
      no_log: true
    - shell: echo s3cr3t-out; exit 3
      no_log: true
"#,
    );
    // In check mode the file is new (a diff would show it) and the shell task is skipped.
    for (args, code) in [
        (vec!["--check", "--diff", "-v"], 0),
        (vec!["-vvv", "--diff"], 2),
        (vec!["--output", "json", "--diff"], 2),
    ] {
        // A new file each time, so the copy changes and would have a diff to show.
        let _ = std::fs::remove_file(lab.path("secret.conf"));
        let out = lab.play("s.yml", &args);
        out.assert_code(code);
        let all = format!("{}{}", out.stdout, out.stderr);
        assert!(
            !all.contains("s3cr3t"),
            "{args:?} shows a no_log value:\n{all}"
        );
        assert!(all.contains("censored"), "{args:?}:\n{all}");
    }
    // The task did its work: only the output is hidden.
    assert_eq!(lab.read("secret.conf"), "token=s3cr3t-file\n");
}

#[test]
fn debug_assert_fail_ping_pause_and_per_task_check_mode() {
    let lab = Lab::new();
    lab.write(
        "d.yml",
        r#"
- hosts: localhost
  gather_facts: no
  vars:
    cluster: {name: prod}
  tasks:
    - debug: var=cluster.name
    - ping:
    - pause: {seconds: 1}
    - copy: {content: x, dest: "{{ root }}/previewed"}
      check_mode: yes
    - assert:
        that: cluster.name == 'dev'
        fail_msg: "wrong cluster {{ cluster.name }}"
      ignore_errors: yes
    - fail: msg="stop here"
"#,
    );
    let started = std::time::Instant::now();
    let out = lab.play("d.yml", &[]);
    assert!(started.elapsed() >= std::time::Duration::from_secs(1));
    out.assert_code(2);
    assert!(
        out.stdout.contains("\"cluster.name\": \"prod\""),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("wrong cluster prod"), "{}", out.stdout);
    assert!(
        out.stdout.contains("\"msg\": \"stop here\""),
        "{}",
        out.stdout
    );
    assert!(!lab.exists("previewed"));
    let r = out.recap("localhost");
    assert_eq!(
        (r.ok, r.changed, r.failed, r.ignored),
        (5, 1, 1, 1),
        "{}",
        out.stdout
    );
}

#[test]
fn free_strategy_lets_fast_hosts_run_ahead() {
    let lab = Lab::new();
    lab.write(
        "hosts",
        "slow ansible_connection=local\nfast ansible_connection=local\n",
    );
    lab.write("f.yml", r#"
- hosts: all
  gather_facts: no
  strategy: free
  tasks:
    - shell: "{{ 'sleep 1' if inventory_hostname == 'slow' else 'true' }}; echo one {{ inventory_hostname }} >> {{ root }}/log"
    - shell: echo two {{ inventory_hostname }} >> {{ root }}/log
"#);
    lab.run(&[
        "run",
        "f.yml",
        "-i",
        "hosts",
        "-e",
        &format!("root={}", lab.root().display()),
    ])
    .assert_ok();
    assert_eq!(lab.read("log"), "one fast\ntwo fast\none slow\ntwo slow\n");
}

#[test]
fn throttle_limits_hosts_running_a_task_at_once() {
    let lab = Lab::new();
    lab.write(
        "hosts",
        "a ansible_connection=local\nb ansible_connection=local\nc ansible_connection=local\n",
    );
    // Each host records how many hosts are inside the task with it.
    lab.write(
        "t.yml",
        r#"
- hosts: all
  gather_facts: no
  tasks:
    - shell: |
        mkdir {{ root }}/in.{{ inventory_hostname }}
        ls -d {{ root }}/in.* | wc -l >> {{ root }}/seen
        sleep 0.3
        rmdir {{ root }}/in.{{ inventory_hostname }}
      throttle: 1
"#,
    );
    lab.play("t.yml", &["-i", "hosts"]).assert_ok();
    assert_eq!(
        lab.read("seen").split_whitespace().collect::<Vec<_>>(),
        ["1", "1", "1"]
    );
}

/// Starts the binary on `playbook`, waits until `marker` runs, sends `signal`; the output.
fn interrupt_while(
    lab: &Lab,
    playbook: &str,
    marker: &str,
    signal: &str,
) -> (std::process::Output, std::time::Duration) {
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_timonel"))
        .args([
            "run",
            playbook,
            "-e",
            &format!("root={}", lab.root().display()),
        ])
        .current_dir(lab.root())
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let t0 = std::time::Instant::now();
    while !running(marker) && t0.elapsed() < std::time::Duration::from_secs(10) {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(running(marker), "the command never started");
    std::process::Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    let sent = std::time::Instant::now();
    let out = child.wait_with_output().unwrap();
    (out, sent.elapsed())
}

fn running(marker: &str) -> bool {
    std::process::Command::new("pgrep")
        .args(["-f", marker])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// SIGTERM ends a run as Ctrl-C does: children killed, recap printed, exit 99, at once.
#[test]
fn sigterm_ends_the_run_like_ctrl_c() {
    let lab = Lab::new();
    lab.write("t.yml", "- hosts: localhost\n  gather_facts: no\n  tasks:\n    - shell: sleep 31.8; touch {{ root }}/late\n");
    let (out, took) = interrupt_while(&lab, "t.yml", "sleep 31.8", "-TERM");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(99), "{stdout}");
    assert!(stdout.contains("PLAY RECAP"), "{stdout}");
    assert!(took < std::time::Duration::from_secs(2), "took {took:?}");
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(!running("sleep 31.8"), "the command was left orphaned");
    assert!(!lab.exists("late"));
}

/// Ctrl-C while a lookup('pipe') runs on the controller ends it and the run.
#[test]
fn ctrl_c_ends_a_pipe_lookup() {
    let lab = Lab::new();
    lab.write("p.yml", "- hosts: localhost\n  gather_facts: no\n  tasks:\n    - debug: msg=\"{{ lookup('pipe', 'sleep 31.9') }}\"\n");
    let (out, took) = interrupt_while(&lab, "p.yml", "sleep 31.9", "-INT");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(99), "{stdout}");
    assert!(stdout.contains("User interrupted execution"), "{stdout}");
    assert!(took < std::time::Duration::from_secs(2), "took {took:?}");
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(
        !running("sleep 31.9"),
        "the lookup's command was left behind"
    );
}

#[test]
fn ctrl_c_ends_running_commands_and_prints_the_recap() {
    let lab = Lab::new();
    lab.write("i.yml", "- hosts: localhost\n  gather_facts: no\n  tasks:\n    - file: path={{ root }}/first state=touch\n    - shell: sleep 31.7; touch {{ root }}/late\n");
    let (out, _) = interrupt_while(&lab, "i.yml", "sleep 31.7", "-INT");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(99), "{stdout}");
    assert!(
        stdout.contains("User interrupted execution") && stdout.contains("PLAY RECAP"),
        "{stdout}"
    );
    assert!(
        stdout.contains("localhost                  : ok=1    changed=1"),
        "{stdout}"
    );
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(
        !running("sleep 31.7"),
        "the running command was left behind"
    );
}
