use crate::support::{recap, Lab};

#[test]
fn loops_when_register_and_loop_control() {
    let lab = Lab::new();
    lab.write(
        "l.yml",
        r#"
- hosts: localhost
  gather_facts: no
  vars:
    users: {alice: 1000, bob: 1001}
  tasks:
    - copy: {content: "{{ item }}", dest: "{{ root }}/{{ item }}"}
      loop: [a, b, c]
      when: item != 'b'
      register: made
    - copy: {content: "{{ u.value }}", dest: "{{ root }}/uid-{{ u.key }}"}
      with_dict: "{{ users }}"
      loop_control: {loop_var: u, label: "{{ u.key }}", index_var: i}
    - debug: msg="{{ item }}"
      with_items: [[1, 2], 3]
      register: flat
    - assert:
        that:
          - made.results | length == 3
          - made.results[1].skipped
          - made.results | selectattr('changed') | list | length == 2
          - flat.results | map(attribute='item') | list == [1, 2, 3]
"#,
    );
    let out = lab.play("l.yml", &[]);
    out.assert_ok();
    assert!(lab.exists("a") && !lab.exists("b") && lab.exists("c"));
    assert_eq!(lab.read("uid-bob"), "1001");
    assert!(
        out.stdout.contains("changed: [localhost] => (item=alice)"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("skipping: [localhost] => (item=b)"),
        "{}",
        out.stdout
    );
    assert_eq!(out.recap("localhost"), recap(4, 2, 0, 0));
}

#[test]
fn block_rescue_always() {
    let lab = Lab::new();
    lab.write(
        "b.yml",
        r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - block:
        - file: path={{ root }}/before state=touch
        - command: /bin/false
        - file: path={{ root }}/never state=touch
      rescue:
        - copy:
            content: "{{ ansible_failed_task.name }}|{{ ansible_failed_result.rc }}"
            dest: "{{ root }}/rescued"
      always:
        - file: path={{ root }}/always state=touch
    - name: still running
      file: path={{ root }}/after state=touch
    - block:
        - fail: msg=unrescued
      always:
        - file: path={{ root }}/always2 state=touch
    - file: path={{ root }}/not-reached state=touch
"#,
    );
    let out = lab.play("b.yml", &[]);
    out.assert_code(2);
    assert!(
        lab.exists("before")
            && !lab.exists("never")
            && lab.exists("always")
            && lab.exists("after")
            && lab.exists("always2")
    );
    assert!(!lab.exists("not-reached"));
    // An unnamed task's ansible_failed_task.name is empty, as in Ansible.
    assert_eq!(lab.read("rescued"), "|1");
    let r = out.recap("localhost");
    assert_eq!(
        (r.ok, r.changed, r.failed, r.rescued),
        (5, 5, 1, 1),
        "{}",
        out.stdout
    );
}

#[test]
fn handlers_run_once_at_the_end_only_when_notified() {
    let lab = Lab::new();
    lab.write(
        "h.yml",
        r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - copy: {content: "1", dest: "{{ root }}/conf"}
      notify: restart
    - copy: {content: "2", dest: "{{ root }}/conf2"}
      notify: [restart, topic]
    - command: "true"
      changed_when: false
      notify: not notified
    - meta: flush_handlers
    - shell: echo after-flush >> {{ root }}/log
  handlers:
    - name: restart
      shell: echo restart >> {{ root }}/log
    - name: listener
      shell: echo listener >> {{ root }}/log
      listen: topic
    - name: not notified
      shell: echo wrong >> {{ root }}/log
"#,
    );
    let out = lab.play("h.yml", &[]);
    out.assert_ok();
    assert_eq!(lab.read("log"), "restart\nlistener\nafter-flush\n");
    assert!(
        out.stdout.contains("RUNNING HANDLER [restart]"),
        "{}",
        out.stdout
    );
    let again = lab.play("h.yml", &[]);
    assert_eq!(
        lab.read("log"),
        "restart\nlistener\nafter-flush\nafter-flush\n",
        "{}",
        again.stdout
    );
}

#[test]
fn tags_select_and_skip_tasks() {
    let lab = Lab::new();
    lab.write(
        "t.yml",
        r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - {file: {path: "{{ root }}/web", state: touch}, tags: web}
    - {file: {path: "{{ root }}/db", state: touch}, tags: [db]}
    - {file: {path: "{{ root }}/always", state: touch}, tags: always}
    - {file: {path: "{{ root }}/never", state: touch}, tags: [never, debug]}
    - block:
        - file: {path: "{{ root }}/blockweb", state: touch}
      tags: web
"#,
    );
    lab.play("t.yml", &["--tags", "web"]).assert_ok();
    assert!(lab.exists("web") && lab.exists("blockweb") && lab.exists("always"));
    assert!(!lab.exists("db") && !lab.exists("never"));
    lab.play("t.yml", &["--skip-tags", "web,always", "-t", "debug,db"])
        .assert_ok();
    assert!(lab.exists("db") && lab.exists("never"));
}

#[test]
fn include_and_import_tasks_with_variables() {
    let lab = Lab::new();
    lab.write(
        "tasks/one.yml",
        "- copy: {content: '{{ what }}', dest: '{{ root }}/{{ what }}'}\n",
    );
    lab.write(
        "tasks/static.yml",
        "- file: {path: '{{ root }}/static-{{ n }}', state: touch}\n",
    );
    lab.write(
        "i.yml",
        r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - include_tasks: tasks/one.yml
      vars: {what: x}
    - include_tasks: tasks/one.yml
      loop: [y, z]
      loop_control: {loop_var: what}
    - include_tasks: tasks/one.yml
      when: false
    - import_tasks: tasks/static.yml
      vars: {n: 1}
"#,
    );
    let out = lab.play("i.yml", &[]);
    out.assert_ok();
    assert_eq!(lab.read("x"), "x");
    assert_eq!(lab.read("z"), "z");
    assert!(lab.exists("static-1"));
    assert!(out.stdout.contains("included: "), "{}", out.stdout);
    // Each include (one per loop item) counts as ok, as in Ansible.
    assert_eq!(out.recap("localhost"), recap(7, 4, 0, 1), "{}", out.stdout);
}

#[test]
fn roles_with_defaults_vars_handlers_files_and_dependencies() {
    let lab = Lab::new();
    lab.write(
        "roles/base/tasks/main.yml",
        "- shell: echo base:{{ color }} >> {{ root }}/order\n",
    );
    lab.write("roles/base/defaults/main.yml", "color: grey\n");
    lab.write(
        "roles/web/meta/main.yml",
        "dependencies:\n  - base\n  - role: base\n",
    );
    lab.write(
        "roles/web/defaults/main.yml",
        "http_port: 80\ncolor: blue\n",
    );
    lab.write("roles/web/vars/main.yml", "server: nginx\n");
    lab.write("roles/web/tasks/main.yml", "- template: {src: site.j2, dest: '{{ root }}/site'}\n  notify: reload web\n- copy: {src: static.txt, dest: '{{ root }}/static.txt'}\n- shell: echo web >> {{ root }}/order\n");
    lab.write(
        "roles/web/templates/site.j2",
        "{{ server }}:{{ http_port }}:{{ color }}:{{ role_name }}\n",
    );
    lab.write("roles/web/files/static.txt", "static\n");
    lab.write(
        "roles/web/handlers/main.yml",
        "- name: reload web\n  shell: echo reload >> {{ root }}/order\n",
    );
    lab.write(
        "r.yml",
        r#"
- hosts: localhost
  gather_facts: no
  pre_tasks:
    - shell: echo pre >> {{ root }}/order
  roles:
    - role: web
      http_port: 8080
  tasks:
    - shell: echo task >> {{ root }}/order
"#,
    );
    let out = lab.play("r.yml", &[]);
    out.assert_ok();
    // A role's own defaults beat its parent's (Ansible's get_default_vars). The roles'
    // handlers run after the play's tasks: roles and tasks are one section in Ansible.
    assert_eq!(lab.read("order"), "pre\nbase:grey\nweb\ntask\nreload\n");
    assert_eq!(lab.read("site"), "nginx:8080:blue:web\n");
    assert_eq!(lab.read("static.txt"), "static\n");
    assert!(
        out.stdout.contains("TASK [web : template]"),
        "{}",
        out.stdout
    );
}

#[test]
fn run_once_delegate_to_and_set_fact_across_hosts() {
    let lab = Lab::new();
    lab.write("hosts", "[web]\nw1 ansible_connection=local\nw2 ansible_connection=local\nw3 ansible_connection=local\n");
    lab.write(
        "o.yml",
        r#"
- hosts: web
  gather_facts: no
  tasks:
    - shell: echo {{ inventory_hostname }} >> {{ root }}/once
      run_once: true
      register: once
    - set_fact: {mine: "{{ inventory_hostname }}-fact"}
    - shell: echo {{ inventory_hostname }} >> {{ root }}/delegated
      delegate_to: localhost
    - copy:
        content: "{{ groups['web'] | map('extract', hostvars, 'mine') | join(',') }}|{{ once.rc }}"
        dest: "{{ root }}/{{ inventory_hostname }}"
"#,
    );
    let out = lab.play("o.yml", &["-i", "hosts"]);
    out.assert_ok();
    assert_eq!(lab.read("once"), "w1\n");
    assert_eq!(lab.read("delegated").lines().count(), 3);
    assert_eq!(lab.read("w2"), "w1-fact,w2-fact,w3-fact|0");
    assert!(
        out.stdout.contains("changed: [w1 -> localhost]"),
        "{}",
        out.stdout
    );
    assert_eq!(out.recap("w1").changed, 3);
    assert_eq!(out.recap("w2").changed, 2);
}

#[test]
fn serial_rolls_through_batches_in_order() {
    let lab = Lab::new();
    lab.write(
        "hosts",
        "h1 ansible_connection=local\nh2 ansible_connection=local\nh3 ansible_connection=local\n",
    );
    lab.write(
        "s.yml",
        r#"
- hosts: all
  gather_facts: no
  serial: 1
  tasks:
    - shell: echo start {{ inventory_hostname }} >> {{ root }}/log
    - shell: echo end {{ inventory_hostname }} >> {{ root }}/log
"#,
    );
    lab.play("s.yml", &["-i", "hosts"]).assert_ok();
    assert_eq!(
        lab.read("log"),
        "start h1\nend h1\nstart h2\nend h2\nstart h3\nend h3\n"
    );
}

#[test]
fn linear_strategy_keeps_hosts_in_step_and_failed_hosts_drop_out() {
    let lab = Lab::new();
    lab.write(
        "hosts",
        "a ansible_connection=local\nb ansible_connection=local\nc ansible_connection=local\n",
    );
    lab.write("s.yml", r#"
- hosts: all
  gather_facts: no
  tasks:
    - shell: sleep 0.{{ 3 - groups['all'].index(inventory_hostname) }}; echo one {{ inventory_hostname }} >> {{ root }}/log
    - fail: msg=boom
      when: inventory_hostname == 'b'
    - shell: echo two {{ inventory_hostname }} >> {{ root }}/log
- hosts: all
  gather_facts: no
  tasks:
    - shell: echo second-play {{ inventory_hostname }} >> {{ root }}/log
"#);
    let out = lab.play("s.yml", &["-i", "hosts"]);
    out.assert_code(2);
    let log = lab.read("log");
    let lines: Vec<&str> = log.lines().collect();
    assert!(lines[..3].iter().all(|l| l.starts_with("one")), "{log}");
    assert!(
        !log.contains("two b") && !log.contains("second-play b"),
        "{log}"
    );
    assert!(
        log.contains("two a") && log.contains("second-play c"),
        "{log}"
    );
    assert_eq!(out.recap("b"), recap(1, 1, 1, 0));
    assert_eq!(lab.read("s.retry"), "b\n");
    // --limit @retry re-runs only the failed host.
    let again = lab.play(
        "s.yml",
        &["-i", "hosts", "--limit", "@s.retry", "-e", "unused=1"],
    );
    assert!(
        again.stdout.contains("[b]") && !again.stdout.contains("[a]"),
        "{}",
        again.stdout
    );
}

#[test]
fn any_errors_fatal_and_max_fail_percentage_stop_the_play() {
    let lab = Lab::new();
    lab.write("hosts", "a ansible_connection=local\nb ansible_connection=local\nc ansible_connection=local\nd ansible_connection=local\n");
    lab.write(
        "f.yml",
        r#"
- hosts: all
  gather_facts: no
  any_errors_fatal: true
  tasks:
    - fail: msg=stop
      when: inventory_hostname == 'a'
    - file: path={{ root }}/fatal-{{ inventory_hostname }} state=touch
- hosts: all
  gather_facts: no
  tasks:
    - file: path={{ root }}/next-play state=touch
"#,
    );
    let out = lab.play("f.yml", &["-i", "hosts"]);
    out.assert_code(2);
    assert!(
        !lab.exists("fatal-b") && !lab.exists("next-play"),
        "{}",
        out.stdout
    );
    lab.write(
        "m.yml",
        r#"
- hosts: all
  gather_facts: no
  max_fail_percentage: 30
  tasks:
    - fail: msg=stop
      when: inventory_hostname in ['a', 'b']
    - file: path={{ root }}/max-{{ inventory_hostname }} state=touch
"#,
    );
    let out = lab.play("m.yml", &["-i", "hosts"]);
    out.assert_code(2);
    assert!(!lab.exists("max-c"), "{}", out.stdout);
}

#[test]
fn start_at_task_import_playbook_and_end_host() {
    let lab = Lab::new();
    lab.write("inner.yml", "- hosts: localhost\n  gather_facts: no\n  tasks:\n    - name: inner\n      file: path={{ root }}/inner state=touch\n");
    lab.write(
        "p.yml",
        r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - name: first
      file: path={{ root }}/first state=touch
    - name: second
      file: path={{ root }}/second state=touch
    - meta: end_host
      when: stop | default(false) | bool
    - name: third
      file: path={{ root }}/third state=touch
- import_playbook: inner.yml
"#,
    );
    lab.play("p.yml", &["--start-at-task", "second", "-e", "stop=yes"])
        .assert_ok();
    assert!(
        !lab.exists("first") && lab.exists("second") && !lab.exists("third") && lab.exists("inner")
    );
}

#[test]
fn import_playbook_when_tags_and_vars_reach_the_imported_plays() {
    let lab = Lab::new();
    lab.write(
        "infra.yml",
        "- hosts: localhost\n  gather_facts: no\n  tasks:\n    - name: infra\n      copy: {content: \"{{ size }}\", dest: \"{{ root }}/infra\"}\n",
    );
    lab.write(
        "site.yml",
        r#"
- import_playbook: infra.yml
  when: cloud == 'hetzner'
  tags: [infra]
  vars:
    size: cx22
"#,
    );
    // The condition holds: the imported play runs with the import's vars.
    lab.play("site.yml", &["-e", "cloud=hetzner"]).assert_ok();
    assert_eq!(lab.read("infra"), "cx22");
    std::fs::remove_file(lab.path("infra")).unwrap();
    // It doesn't: every task of the imported play is skipped.
    let out = lab.play("site.yml", &["-e", "cloud=none"]);
    out.assert_ok();
    assert!(!lab.exists("infra"), "{}", out.stdout);
    assert_eq!(out.recap("localhost").skipped, 1, "{}", out.stdout);
    // The import's tag is on every imported task.
    lab.play("site.yml", &["-e", "cloud=hetzner", "--skip-tags", "infra"])
        .assert_ok();
    assert!(!lab.exists("infra"));
    // Unknown keywords on an import are errors, as on a play.
    lab.write("bad.yml", "- import_playbook: infra.yml\n  hosts: all\n");
    let out = lab.play("bad.yml", &["--syntax-check"]);
    out.assert_error(&["unknown import_playbook keyword 'hosts'"]);
}

#[test]
fn become_wraps_commands_with_sudo() {
    // Proves the become path is taken: a fake sudo on PATH records how it was called.
    let lab = Lab::new();
    lab.write("bin/sudo", "#!/bin/sh\nprintf '%s ' \"$@\" >> \"$(dirname \"$0\")/../sudo.log\"\nwhile [ \"$1\" != \"--\" ]; do shift; done; shift\nexec \"$@\"\n");
    std::fs::set_permissions(
        lab.path("bin/sudo"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    lab.write(
        "b.yml",
        r#"
- hosts: localhost
  gather_facts: no
  become: yes
  become_user: postgres
  tasks:
    - command: "true"
    - command: "true"
      become: no
"#,
    );
    let path = format!(
        "{}:{}",
        lab.path("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_timonel"))
        .args(["run", "b.yml"])
        .current_dir(lab.root())
        .env("PATH", path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let log = lab.read("sudo.log");
    assert_eq!(log.lines().count(), 1, "{log}");
    assert!(log.starts_with("-n -u postgres -- sh -c"), "{log}");
}

#[test]
fn become_to_the_login_user_runs_directly() {
    // As Ansible does: becoming the user we already are needs no sudo (a root login on a
    // host without sudo), so the fake sudo is called only for the other user.
    let lab = Lab::new();
    lab.write("bin/sudo", "#!/bin/sh\nprintf '%s\\n' \"$*\" >> \"$(dirname \"$0\")/../sudo.log\"\nwhile [ \"$1\" != \"--\" ]; do shift; done; shift\nexec \"$@\"\n");
    std::fs::set_permissions(
        lab.path("bin/sudo"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let me = std::process::Command::new("id")
        .arg("-un")
        .output()
        .unwrap();
    let me = String::from_utf8_lossy(&me.stdout).trim().to_string();
    lab.write(
        "b.yml",
        &format!(
            r#"
- hosts: localhost
  gather_facts: no
  become: yes
  become_user: {me}
  tasks:
    - command: "true"
    - command: "true"
      become_user: somebody-else
"#
        ),
    );
    let path = format!(
        "{}:{}",
        lab.path("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_timonel"))
        .args(["run", "b.yml"])
        .current_dir(lab.root())
        .env("PATH", path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let log = lab.read("sudo.log");
    assert_eq!(log.lines().count(), 1, "{log}");
    assert!(log.starts_with("-n -u somebody-else -- sh -c"), "{log}");
}

/// -vv says what meta tasks did, as ansible-playbook does; end_batch ends only its batch;
/// the play's name is templated with play and extra vars.
#[test]
fn meta_tasks_say_what_they_did_and_end_batch_ends_one_batch() {
    let lab = Lab::new();
    lab.write(
        "hosts",
        "a ansible_connection=local\nb ansible_connection=local\n",
    );
    lab.write(
        "m.yml",
        r#"
- name: "batches of {{ size }}"
  hosts: all
  gather_facts: no
  serial: 1
  vars: {size: one}
  tasks:
    - meta: end_host
      when: inventory_hostname == 'nobody'
    - file: path={{ root }}/ran-{{ inventory_hostname }} state=touch
    - meta: end_batch
    - file: path={{ root }}/never-{{ inventory_hostname }} state=touch
"#,
    );
    let out = lab.play("m.yml", &["-i", "hosts", "-vv"]);
    out.assert_code(0);
    assert!(lab.exists("ran-a") && lab.exists("ran-b"), "{}", out.stdout);
    assert!(!lab.exists("never-a") && !lab.exists("never-b"));
    for want in [
        "PLAY [batches of one]",
        "1 plays in m.yml",
        "META: end_host conditional evaluated to False, continuing execution for a",
        "\"skip_reason\": \"end_host conditional evaluated to False, continuing execution for b\"",
    ] {
        assert!(out.stdout.contains(want), "{want}:\n{}", out.stdout);
    }
    assert_eq!(
        out.stdout.matches("META: ending batch").count(),
        2,
        "{}",
        out.stdout
    );
    assert_eq!(out.recap("a").skipped, 0);
}
