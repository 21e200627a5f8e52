//! Every kind of bad input gets a clear error naming the file, line and fix; no panics,
//! and nothing runs when the playbook itself is wrong (exit code 5).

use crate::support::Lab;

fn bad(playbook: &str) -> (Lab, crate::support::Out) {
    let lab = Lab::new();
    lab.write("bad.yml", playbook);
    let out = lab.play("bad.yml", &[]);
    (lab, out)
}

#[test]
fn malformed_yaml_names_file_line_and_column() {
    let (_, out) =
        bad("- hosts: localhost\n  tasks:\n    - name: x\n      debug: msg=hi\n     - name: y\n");
    out.assert_code(5)
        .assert_error(&["YAML syntax error", "bad.yml:5:", "help:"]);
}

#[test]
fn unknown_module_suggests_the_closest() {
    let (lab, out) = bad("- hosts: localhost\n  gather_facts: no\n  tasks:\n    - file: path={{ root }}/ran state=touch\n    - copyy:\n        dest: /tmp/x\n");
    out.assert_code(5).assert_error(&[
        "unknown module 'copyy' (did you mean 'copy'?)",
        "bad.yml:5:7",
        "^",
        "nothing was run",
    ]);
    assert!(!lab.exists("ran"), "a task ran before validation finished");
}

#[test]
fn unknown_task_and_play_keywords() {
    let (_, out) = bad(
        "- hosts: localhost\n  gather_fact: no\n  tasks:\n    - debug: msg=x\n      regster: r\n",
    );
    out.assert_code(5).assert_error(&[
        "'gather_fact' is not a valid attribute for a Play (did you mean 'gather_facts'?)",
        "bad.yml:2:3",
        "unknown task keyword 'regster' (did you mean 'register'?)",
        "bad.yml:5:7",
        "2 errors found",
    ]);
}

#[test]
fn wrong_argument_types_and_unknown_arguments() {
    let (_, out) = bad("- hosts: localhost\n  tasks:\n    - lineinfile:\n        path: /tmp/x\n        create: perhaps\n        lien: x\n    - file: {path: /tmp/y, state: folder}\n    - copy: {dest: /tmp/z, mode: 0999}\n");
    out.assert_code(5).assert_error(&[
        "argument 'create' must be a boolean, got string 'perhaps'",
        "bad.yml:5:9",
        "unsupported argument 'lien' for module 'lineinfile' (did you mean 'line'?)",
        "argument 'state' must be one of file, directory, link, hard, absent, touch, got 'folder'",
        "invalid mode",
        "timonel doc lineinfile",
    ]);
}

#[test]
fn missing_required_arguments_and_conflicts() {
    let (_, out) = bad("- hosts: localhost\n  tasks:\n    - copy: {content: x}\n    - copy: {dest: /x, src: a, content: b}\n");
    out.assert_code(5).assert_error(&[
        "missing required argument 'dest' for module 'copy'",
        "bad.yml:3:7",
        "mutually exclusive: src, content",
    ]);
}

#[test]
fn duplicate_keys_are_errors() {
    let (_, out) = bad(
        "- hosts: localhost\n  tasks:\n    - name: a\n      debug: msg=1\n      debug: msg=2\n",
    );
    out.assert_code(5).assert_error(&[
        "duplicate key 'debug' (first defined on line 4)",
        "bad.yml:5:7",
    ]);
}

#[test]
fn structural_mistakes() {
    let (_, out) = bad("hosts: localhost\n");
    out.assert_code(5)
        .assert_error(&["a playbook must be a list of plays", "bad.yml:1:1"]);
    let (_, out) = bad("- hosts: localhost\n  tasks:\n    - name: no module here\n");
    out.assert_code(5)
        .assert_error(&["this task has no module", "bad.yml:3:7"]);
    let (_, out) = bad("- tasks: []\n");
    out.assert_code(5)
        .assert_error(&["this play has no 'hosts'"]);
    let (_, out) = bad("- hosts: localhost\n  tasks:\n    - include_role: {name: nope}\n    - import_tasks: missing.yml\n");
    out.assert_code(5)
        .assert_error(&["task file", "missing.yml does not exist", "bad.yml:4:7"]);
}

#[test]
fn role_dependency_cycle_is_named() {
    let lab = Lab::new();
    lab.write("roles/a/meta/main.yml", "dependencies: [b]\n");
    lab.write("roles/b/meta/main.yml", "dependencies: [c]\n");
    lab.write("roles/c/meta/main.yml", "dependencies: [a]\n");
    lab.write("roles/a/tasks/main.yml", "- debug: msg=a\n");
    lab.write("p.yml", "- hosts: localhost\n  roles: [a]\n");
    lab.run(&["run", "p.yml"])
        .assert_code(5)
        .assert_error(&["role dependency cycle: a -> b -> c -> a"]);
    lab.write("q.yml", "- hosts: localhost\n  roles: [missing]\n");
    lab.run(&["run", "q.yml"])
        .assert_code(5)
        .assert_error(&["role 'missing' not found", "q.yml:2:11"]);
}

#[test]
fn undefined_variable_fails_the_task_with_its_name() {
    let (lab, out) = bad("- hosts: localhost\n  gather_facts: no\n  tasks:\n    - copy:\n        content: '{{ greeting }} {{ name }}'\n        dest: '{{ root }}/x'\n      vars: {greeting: hi}\n");
    out.assert_code(2);
    assert!(
        out.stdout.contains("undefined variable 'name'"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("Origin: bad.yml:4:7"), "{}", out.stdout);
    assert!(!lab.exists("x"));
    let (_, out) = bad(
        "- hosts: localhost\n  gather_facts: no\n  tasks:\n    - debug: msg=x\n      when: flag\n",
    );
    out.assert_code(2);
    assert!(
        out.stdout.contains("undefined variable 'flag'"),
        "{}",
        out.stdout
    );
}

#[test]
fn unreachable_host_exits_4_and_the_others_finish() {
    let lab = Lab::new();
    lab.write(
        "hosts",
        "good ansible_connection=local\nfar ansible_host=127.0.0.1 ansible_port=1\n",
    );
    lab.write("p.yml", "- hosts: all\n  gather_facts: no\n  tasks:\n    - file: path={{ root }}/{{ inventory_hostname }} state=touch\n    - file: path={{ root }}/{{ inventory_hostname }}-2 state=touch\n");
    let out = lab.play("p.yml", &["-i", "hosts"]);
    out.assert_code(4);
    assert!(
        out.stdout.contains("fatal: [far]: UNREACHABLE!"),
        "{}",
        out.stdout
    );
    assert!(lab.exists("good-2"));
    assert_eq!(out.recap("far").unreachable, 1);
    assert_eq!(out.recap("good").ok, 2);
}

#[test]
fn bad_inventory_and_command_line() {
    let lab = Lab::new();
    lab.write("p.yml", "- hosts: all\n  tasks: []\n");
    lab.write("inv", "[web\nh1\n");
    lab.run(&["run", "p.yml", "-i", "inv"])
        .assert_code(5)
        .assert_error(&["inv:1:"]);
    lab.write("inv2", "[web]\nh[3:1]\n");
    lab.run(&["run", "p.yml", "-i", "inv2"])
        .assert_code(5)
        .assert_error(&["ends before it starts", "inv2:2:"]);
    lab.run(&["run", "p.yml", "-i", "nope"])
        .assert_code(5)
        .assert_error(&["inventory source 'nope' does not exist"]);
    lab.run(&["run", "missing.yml"])
        .assert_code(5)
        .assert_error(&["missing.yml could not be found"]);
    lab.run(&["run", "p.yml", "--frobnicate"])
        .assert_code(5)
        .assert_error(&["--frobnicate"]);
    lab.run(&["run", "p.yml", "-e", "novalue"])
        .assert_code(5)
        .assert_error(&["expected KEY=VALUE"]);
}

#[test]
fn notify_of_a_missing_handler_is_found_before_running() {
    let (_, out) = bad("- hosts: localhost\n  tasks:\n    - command: 'true'\n      notify: restrat nginx\n  handlers:\n    - name: restart nginx\n      command: 'true'\n");
    out.assert_code(5).assert_error(&[
        "notifies 'restrat nginx', but no handler has that name",
        "did you mean 'restart nginx'?",
        "bad.yml:3:7",
    ]);
}

#[test]
fn templated_hosts_pattern_and_its_errors() {
    let lab = Lab::new();
    lab.write("p.yml", "- hosts: '{{ target }}'\n  gather_facts: no\n  tasks:\n    - file: path={{ root }}/{{ inventory_hostname }} state=touch\n");
    lab.play("p.yml", &["-e", "target=localhost"]).assert_ok();
    assert!(lab.exists("localhost"));
    lab.play("p.yml", &[])
        .assert_code(5)
        .assert_error(&["hosts: undefined variable 'target'", "p.yml:1:3"]);
}

#[test]
fn the_removed_include_action_is_rejected_up_front() {
    let (lab, out) = bad("- hosts: localhost\n  gather_facts: no\n  tasks:\n    - file: path={{ root }}/ran state=touch\n    - include: other.yml\n");
    out.assert_code(5).assert_error(&[
        "the 'include' action was removed from Ansible (in ansible-core 2.16)",
        "bad.yml:5:7",
        "use include_tasks (chosen at run time) or import_tasks (static) instead",
        "1 error found",
    ]);
    assert!(!lab.exists("ran"), "a task ran before validation finished");
}

#[test]
fn a_broken_handler_is_one_error_not_also_a_missing_handler() {
    let (_, out) = bad("- hosts: localhost\n  gather_facts: no\n  handlers:\n    - name: restart it\n      servise: name=x state=restarted\n  tasks:\n    - command: 'true'\n      notify: restart it\n");
    out.assert_code(5).assert_error(&[
        "unknown module 'servise' (did you mean 'service'?)",
        "bad.yml:5:7",
        "1 error found",
    ]);
    assert!(
        !out.stderr.contains("no handler has that name"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_known_module_timonel_lacks_fails_only_if_it_runs() {
    // Real roles carry branches for other systems; Ansible parses them and so do we.
    let lab = Lab::new();
    let book = "- hosts: localhost\n  gather_facts: no\n  tasks:\n    - name: RedHat only\n      yum: name=httpd state=present\n      when: family == 'RedHat'\n    - community.postgresql.postgresql_user: {name: app, password: x}\n      when: family == 'RedHat'\n    - file: path={{ root }}/ran state=touch\n";
    lab.write("p.yml", book);
    lab.play("p.yml", &["-e", "family=Debian"]).assert_ok();
    assert!(lab.exists("ran"));
    let out = lab.play("p.yml", &["-e", "family=RedHat"]);
    out.assert_code(2);
    assert!(
        out.stdout.contains("module 'yum' is not implemented by timonel (this task ran because its condition was true: family == 'RedHat')"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_known_module_timonel_lacks_still_has_its_arguments_checked() {
    let (_, out) = bad("- hosts: localhost\n  gather_facts: no\n  tasks:\n    - yum: {name: x, stat: present}\n      when: false\n    - yumm: name=x\n");
    out.assert_code(5).assert_error(&[
        "unsupported argument 'stat' for module 'yum' (did you mean 'state'?)",
        "bad.yml:4:22",
        "unknown module 'yumm' (did you mean 'yum'?)",
        "bad.yml:6:7",
    ]);
}

#[test]
fn a_wrong_argument_combination_under_a_condition_warns_and_fails_only_if_it_runs() {
    // Ansible checks combinations when the task runs; a branch not taken is no error.
    let lab = Lab::new();
    lab.write("p.yml", "- hosts: localhost\n  gather_facts: no\n  tasks:\n    - systemd_service: {name: docker}\n      when: patch | bool\n    - file: path={{ root }}/ran state=touch\n");
    let out = lab.play("p.yml", &["-e", "patch=false"]);
    out.assert_ok();
    assert!(
        out.stderr
            .contains("warning: module 'systemd_service' needs one of: state, enabled")
            && out.stderr.contains("p.yml:4:7"),
        "{}",
        out.stderr
    );
    assert!(lab.exists("ran"));
    let out = lab.play("p.yml", &["-e", "patch=true"]);
    out.assert_code(2);
    assert!(
        out.stdout.contains("needs one of: state, enabled"),
        "{}",
        out.stdout
    );
}

/// register and set_fact take only variable names, as Ansible checks them: register when the
/// playbook loads, set_fact's (templated) names when the task runs.
#[test]
fn invalid_variable_names_are_refused() {
    let (_, out) = bad("- hosts: localhost\n  gather_facts: no\n  tasks:\n    - debug: msg=x\n      register: 200\n");
    out.assert_code(5).assert_error(&[
        "Invalid 'register' specified: Invalid variable name '200' of type 'int'.",
        "bad.yml:5:17",
    ]);
    let lab = Lab::new();
    lab.write(
        "s.yml",
        r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - set_fact: {"{{ 'true' }}": x}
      register: named_true
      ignore_errors: true
    - set_fact: {"{{ 1 }}": x}
      register: named_one
      ignore_errors: true
    - set_fact: {"{{ 'fine' }}": x}
    - set_fact:
        acc: "{{ acc + [item] }}"
      loop: [b, c]
      vars: {acc: [a]}
    - copy:
        dest: "{{ root }}/out"
        content: "{{ named_true.msg }}|{{ named_one.msg }}|{{ fine }}|{{ acc | join(',') }}"
"#,
    );
    let out = lab.play("s.yml", &[]);
    out.assert_code(0);
    assert_eq!(
        lab.read("out"),
        "Task failed: Invalid variable name 'true'.|Task failed: Invalid variable name '1' of type 'int'.|x|a,b,c"
    );
}
