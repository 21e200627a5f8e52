//! `--check` across hosts that don't exist yet: a host `add_host` made from a resource
//! `--check` did not create has "(known after apply)" as its address. It is planned, never
//! contacted: each task that would run on it shows as a change known after apply.

use crate::support::{recap, Lab};

const PLAYBOOK: &str = r#"
- hosts: localhost
  gather_facts: false
  tasks:
    - name: The new server's address (a real run knows it)
      set_fact:
        address: "{{ '(known after apply)' if ansible_check_mode else '127.0.0.1' }}"
    - name: Hand the server to the next play
      add_host:
        name: new-server
        groups: [new]
        ansible_host: "{{ address }}"
        ansible_connection: local

- hosts: new
  tasks:
    - name: A file on it
      copy:
        content: "hello\n"
        dest: "{{ root }}/on-the-server"
    - name: Only on Debian
      debug:
        msg: "{{ ansible_facts.distribution }}"
      when: ansible_facts.os_family == 'Debian'
    - name: Loop over its facts
      debug:
        msg: "{{ item }}"
      loop: "{{ ansible_facts.interfaces }}"
    - name: Delegated to it from localhost
      command: hostname
      delegate_to: new-server
"#;

#[test]
fn check_plans_hosts_that_do_not_exist_yet() {
    let t = Lab::new();
    t.write("site.yml", PLAYBOOK);
    let out = t.play("site.yml", &["--check"]);
    out.assert_ok();
    // Nothing reaches it: facts (ok, none known), three planned changes, and the task whose
    // condition needs a fact skipped (facts are known after apply).
    assert_eq!(out.recap("new-server"), recap(4, 3, 0, 1), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("changed: [new-server] (known after apply: not created yet)"),
        "{}",
        out.stdout
    );
    assert!(!t.exists("on-the-server"));
    // The plan's summary, a line per play, before the recap.
    let summary: Vec<&str> = out
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("PLAN *"))
        .skip(1)
        .take_while(|l| !l.is_empty())
        .collect();
    assert_eq!(
        summary,
        [
            "localhost : 1 to change, 1 unchanged",
            "new : 3 to create on 1 host not created yet, 0 to change, 0 unchanged"
        ],
        "{}",
        out.stdout
    );

    // A real run reaches the host (here: this machine) and does the work.
    let out = t.play("site.yml", &[]);
    out.assert_ok();
    assert!(!out.stdout.contains("PLAN *"), "a real run has no plan");
    assert_eq!(t.read("on-the-server"), "hello\n");
}
