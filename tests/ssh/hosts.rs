use crate::lab::{self, exec, inventory, shared};
use crate::support::{recap, Lab};
use crate::{run, run_env};

#[test]
fn parallel_hosts_with_their_own_host_vars() {
    let t = Lab::new();
    let hosts = shared();
    t.write("hosts", &inventory(hosts, "tester"));
    for (i, (h, _)) in hosts.iter().enumerate() {
        t.write(&format!("host_vars/{h}.yml"), &format!("color: c{i}\n"));
    }
    t.write("p.yml", r#"
- hosts: lab
  tasks:
    - file: {path: /tmp/parallel, state: directory}
    - copy: {content: "{{ inventory_hostname }} {{ color }} {{ ansible_distribution }}\n", dest: /tmp/parallel/who}
    - command: cat /tmp/parallel/who
      register: who
      changed_when: false
    - assert: {that: ["who.stdout == inventory_hostname ~ ' ' ~ color ~ ' Debian'"]}
"#);
    let out = run(&t, &["run", "p.yml", "-i", "hosts"]);
    out.assert_ok();
    for (i, (h, _)) in hosts.iter().enumerate() {
        assert_eq!(
            exec(h, "cat /tmp/parallel/who"),
            format!("{h} c{i} Debian\n")
        );
        assert_eq!(out.recap(h).ok, 5, "{}", out.stdout);
    }
    let again = run(&t, &["run", "p.yml", "-i", "hosts"]);
    assert_eq!(
        again.recap(&hosts[0].0),
        recap(5, 0, 0, 0),
        "{}",
        again.stdout
    );
}

#[test]
fn become_root_from_an_unprivileged_user_with_and_without_a_password() {
    let t = Lab::new();
    let hosts = &shared()[..1];
    let h = &hosts[0].0;
    t.write("hosts", &inventory(hosts, "tester"));
    t.write("p.yml", r#"
- hosts: lab
  gather_facts: no
  tasks:
    - command: id -un
      register: plain
    - copy: {content: "root only\n", dest: /etc/timonel-become, mode: "0600"}
      become: yes
    - command: id -un
      become: yes
      register: rooted
    - command: id -un
      become: yes
      become_user: pwuser
      register: other
    - assert: {that: ["plain.stdout == 'tester'", "rooted.stdout == 'root'", "other.stdout == 'pwuser'"]}
"#);
    run(&t, &["run", "p.yml", "-i", "hosts"]).assert_ok();
    assert_eq!(exec(h, "stat -c '%U %a' /etc/timonel-become"), "root 600\n");
    // pwuser logs in with a password (-k) and needs its password for sudo (-K).
    t.write(
        "pw",
        &format!(
            "[lab]\n{h} ansible_host=127.0.0.1 ansible_port={} ansible_user=pwuser\n",
            hosts[0].1
        ),
    );
    t.write("q.yml", "- hosts: lab\n  gather_facts: no\n  become: yes\n  tasks:\n    - command: id -u\n      register: r\n    - assert: {that: [\"r.stdout == '0'\"]}\n    - copy: {content: \"{{ r.stdout }}\\n\", dest: /root/pw-become}\n");
    let env = [
        ("TIMONEL_SSH_PASS", "lab-pass"),
        ("TIMONEL_BECOME_PASS", "lab-pass"),
    ];
    let out = run_env(&t, &["run", "q.yml", "-i", "pw", "-k", "-K"], &env);
    out.assert_ok();
    assert!(
        !out.stdout.contains("lab-pass") && !out.stderr.contains("lab-pass"),
        "password echoed"
    );
    assert_eq!(exec(h, "cat /root/pw-become"), "0\n");
    // A wrong become password fails the task with sudo's message, not a hang.
    let out = run_env(
        &t,
        &["run", "q.yml", "-i", "pw", "-k", "-K"],
        &[
            ("TIMONEL_SSH_PASS", "lab-pass"),
            ("TIMONEL_BECOME_PASS", "wrong"),
        ],
    );
    out.assert_code(2);
    assert!(
        out.stdout.contains("incorrect password") || out.stdout.contains("Sorry, try again"),
        "{}",
        out.stdout
    );
}

#[test]
fn serial_one_changes_one_host_at_a_time_and_limit_retry_repairs_the_failed() {
    let t = Lab::new();
    let hosts = shared();
    t.write("hosts", &inventory(hosts, "tester"));
    t.write(
        "s.yml",
        r#"
- hosts: lab
  gather_facts: no
  serial: 1
  tasks:
    - shell: echo start {{ inventory_hostname }} >> {{ root }}/serial.log
      delegate_to: localhost
    - command: sleep 0.2
    - shell: echo end {{ inventory_hostname }} >> {{ root }}/serial.log
      delegate_to: localhost
"#,
    );
    let root = format!("root={}", t.root().display());
    run(&t, &["run", "s.yml", "-i", "hosts", "-e", &root]).assert_ok();
    let log = t.read("serial.log");
    let expected: String = hosts
        .iter()
        .map(|(h, _)| format!("start {h}\nend {h}\n"))
        .collect();
    assert_eq!(log, expected);
    // The second host fails; the retry file lists it and --limit @ runs only it.
    t.write("f.yml", &format!(
        "- hosts: lab\n  gather_facts: no\n  tasks:\n    - fail: msg=down\n      when: inventory_hostname == '{}' and not (fixed | default(false) | bool)\n    - command: 'true'\n",
        hosts[1].0
    ));
    let out = run(&t, &["run", "f.yml", "-i", "hosts"]);
    out.assert_code(2);
    assert_eq!(t.read("f.retry"), format!("{}\n", hosts[1].0));
    let out = run(
        &t,
        &[
            "run",
            "f.yml",
            "-i",
            "hosts",
            "--limit",
            "@f.retry",
            "-e",
            "fixed=yes",
        ],
    );
    out.assert_ok();
    assert!(
        out.stdout.contains(&format!("[{}]", hosts[1].0))
            && !out.stdout.contains(&format!("[{}]", hosts[0].0)),
        "{}",
        out.stdout
    );
}

#[test]
fn jump_host_reaches_a_host_the_controller_cannot_see() {
    let t = Lab::new();
    let out = lab::lab(&["jump", "t-jump", "22290", "t-inner"]);
    assert!(out.contains("inner=t-inner"));
    t.write("hosts", &format!(
        "[inner]\nt-inner ansible_user=tester ansible_ssh_private_key_file={} ansible_ssh_common_args='-o ProxyJump=tester@127.0.0.1:22290'\n",
        lab::key()
    ));
    t.write(
        "p.yml",
        "- hosts: inner\n  tasks:\n    - copy: {content: \"via jump\\n\", dest: /tmp/jumped}\n",
    );
    let out = run(&t, &["run", "p.yml", "-i", "hosts"]);
    out.assert_ok();
    assert_eq!(exec("t-inner", "cat /tmp/jumped"), "via jump\n");
    // The inner host publishes no port and sits on an internal network: the jump host is
    // the only way in.
    let ports = std::process::Command::new("docker")
        .args(["port", "t-inner"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&ports.stdout).trim().is_empty());
}

#[test]
fn facts_come_from_the_host_in_one_round_trip() {
    let t = Lab::new();
    let hosts = &shared()[..1];
    t.write("hosts", &inventory(hosts, "tester"));
    t.write(
        "p.yml",
        r#"
- hosts: lab
  tasks:
    - assert:
        that:
          - ansible_hostname == inventory_hostname
          - ansible_distribution == 'Debian'
          - ansible_distribution_major_version == '12'
          - ansible_distribution_release == 'bookworm'
          - ansible_os_family == 'Debian'
          - ansible_architecture in ['x86_64', 'aarch64']
          - ansible_processor_vcpus >= 1
          - ansible_memtotal_mb > 0
          - ansible_virtualization_type == 'docker'
          - ansible_default_ipv4.address is defined
          - "'eth0' in ansible_interfaces"
          - ansible_user_id == 'tester'
"#,
    );
    run(&t, &["run", "p.yml", "-i", "hosts"]).assert_ok();
}
