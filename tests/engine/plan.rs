//! `--check` across hosts that don't exist yet: a host `add_host` made from a resource
//! `--check` did not create has "(known after apply)" as its address. It is planned, never
//! contacted: each task that would run on it shows as a change known after apply.

use crate::support::{recap, task_output, Lab};

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
    // Nothing reaches it: facts (ok, none known), then four planned changes, each saying why
    // it is known only after apply (a condition or a loop on facts: the task may run).
    assert_eq!(out.recap("new-server"), recap(5, 4, 0, 0), "{}", out.stdout);
    assert_eq!(
        task_output(&out.stdout, "Gathering Facts"),
        "ok: [new-server] (known after apply: not created yet)"
    );
    assert_eq!(
        task_output(&out.stdout, "Only on Debian"),
        "changed: [new-server] (known after apply: its condition needs ansible_facts of new-server)"
    );
    assert_eq!(
        task_output(&out.stdout, "Loop over its facts"),
        "changed: [new-server] (known after apply: its loop needs ansible_facts of new-server)"
    );
    assert_eq!(
        task_output(&out.stdout, "Delegated to it from localhost"),
        "changed: [new-server] (known after apply: not created yet)"
    );
    assert_eq!(
        task_output(&out.stdout, "A file on it"),
        "changed: [new-server] (not created yet)"
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
            "new : 4 to create on 1 host not created yet, 0 to change, 0 unchanged"
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

/// Files a planned host would get: a fresh server from a known image, never touched, so
/// what copy and template would write there is the whole file, shown from absent; where it
/// needs what only the server will tell (its facts, results of tasks planned on it), the
/// task says so instead.
const FILES: &str = r#"
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Hand the server to the next play
      add_host:
        name: new-server
        groups: [new]
        ansible_host: "{{ '(known after apply)' if ansible_check_mode else '127.0.0.1' }}"
        ansible_connection: local

- hosts: new
  vars:
    kubelet_args: --cloud-provider=external
    version: 1.35.2
  tasks:
    - name: A variable set on it
      set_fact:
        minor: "{{ version.split('.')[:2] | join('.') }}"
    - name: Content from that variable
      copy:
        content: "minor={{ minor }}\n"
        dest: "{{ root }}/minor"
    - name: Content from variables
      copy:
        content: "KUBELET_EXTRA_ARGS={{ kubelet_args }}\nNODE={{ inventory_hostname }}\n"
        dest: "{{ root }}/kubelet"
        mode: "0644"
    - name: A file from the controller
      copy:
        src: motd
        dest: "{{ root }}/"
    - name: A template of known values
      template:
        src: settings.j2
        dest: "{{ root }}/settings"
    - name: A template that reads facts
      template:
        src: facts.j2
        dest: "{{ root }}/facts"
    - name: Content that names the server's address
      copy:
        content: "address={{ hostvars['new-server'].ansible_host }}\n"
        dest: "{{ root }}/address"
    - name: What the server says
      command: cat /etc/hostname
      register: said
      check_mode: false
    - name: Content from its answer
      copy:
        content: "{{ said.stdout }}\n"
        dest: "{{ root }}/said"
    - name: A secret
      copy:
        content: "password=hunter2\n"
        dest: "{{ root }}/secret"
      no_log: true
    - name: A directory
      file:
        path: "{{ root }}/dir-{{ ansible_facts.hostname }}"
        state: directory
"#;

#[test]
fn check_diff_shows_the_files_planned_hosts_would_get() {
    let t = Lab::new();
    t.write("site.yml", FILES)
        .write("files/motd", "Welcome\n")
        .write(
            "templates/settings.j2",
            "host={{ inventory_hostname }}\nargs={{ kubelet_args }}\n",
        )
        .write(
            "templates/facts.j2",
            "os={{ ansible_facts.distribution | default('unknown') }}\n",
        );
    let out = t.play("site.yml", &["--check", "--diff"]);
    out.assert_ok();
    let root = t.root().display().to_string();
    let shown = |task: &str| task_output(&out.stdout, task).replace(&root, "ROOT");

    // Known on the controller: the whole file, from absent, as any file task shows it.
    assert_eq!(
        shown("Content from variables"),
        "--- before: ROOT/kubelet (absent)\n+++ after: ROOT/kubelet\n@@ -0,0 +1,2 @@\n\
         +KUBELET_EXTRA_ARGS=--cloud-provider=external\n+NODE=new-server\n\
         changed: [new-server] (not created yet)"
    );
    assert_eq!(
        shown("A file from the controller"),
        "--- before: ROOT/motd (absent)\n+++ after: ROOT/motd\n@@ -0,0 +1 @@\n+Welcome\n\
         changed: [new-server] (not created yet)"
    );
    assert_eq!(
        shown("A template of known values"),
        "--- before: ROOT/settings (absent)\n+++ after: ROOT/settings\n@@ -0,0 +1,2 @@\n\
         +host=new-server\n+args=--cloud-provider=external\n\
         changed: [new-server] (not created yet)"
    );
    // set_fact never touches the host: it runs, and later tasks plan with its variable.
    assert_eq!(shown("A variable set on it"), "ok: [new-server]");
    assert_eq!(
        shown("Content from that variable"),
        "--- before: ROOT/minor (absent)\n+++ after: ROOT/minor\n@@ -0,0 +1 @@\n+minor=1.35\n\
         changed: [new-server] (not created yet)"
    );
    // Facts are known after apply, even behind a default() that would hide the gap.
    let facts = shown("A template that reads facts");
    assert!(
        facts.starts_with(
            "changed: [new-server] (known after apply: needs ansible_facts of new-server (in template "
        ) && facts.ends_with("templates/facts.j2))")
            && !facts.contains("unknown"),
        "{facts}"
    );
    // A value known after apply shows in place, as Terraform shows it.
    assert_eq!(
        shown("Content that names the server's address"),
        "--- before: ROOT/address (absent)\n+++ after: ROOT/address\n@@ -0,0 +1 @@\n\
         +address=(known after apply)\n\
         changed: [new-server] (known after apply: parts of its content)"
    );
    assert_eq!(
        shown("Content from its answer"),
        "changed: [new-server] (known after apply: needs said (registered by a task known after apply))"
    );
    // no_log: no diff, nothing of the content.
    assert_eq!(shown("A secret"), "changed: [new-server] (not created yet)");
    assert!(!out.stdout.contains("hunter2"), "{}", out.stdout);
    assert_eq!(
        shown("A directory"),
        "changed: [new-server] (known after apply: needs ansible_facts of new-server)"
    );
    // Never contacted, nothing written.
    assert_eq!(out.recap("new-server").unreachable, 0, "{}", out.stdout);
    for f in [
        "kubelet", "motd", "settings", "facts", "address", "said", "secret", "minor",
    ] {
        assert!(!t.exists(f), "{f} was written by the plan");
    }

    // Without --diff: the same lines, no diffs.
    let out = t.play("site.yml", &["--check"]);
    out.assert_ok();
    assert_eq!(
        task_output(&out.stdout, "Content from variables"),
        "changed: [new-server] (not created yet)"
    );
    assert!(!out.stdout.contains("--- before"), "{}", out.stdout);

    // The real run writes what the plan showed.
    let out = t.play("site.yml", &[]);
    out.assert_ok();
    assert_eq!(
        t.read("kubelet"),
        "KUBELET_EXTRA_ARGS=--cloud-provider=external\nNODE=new-server\n"
    );
    assert_eq!(
        t.read("settings"),
        "host=new-server\nargs=--cloud-provider=external\n"
    );
    assert_eq!(t.read("motd"), "Welcome\n");
    assert_eq!(t.read("minor"), "minor=1.35\n");
}
