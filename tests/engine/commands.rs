use crate::support::{recap, Lab};

#[test]
fn command_shell_raw_results_and_guards() {
    let lab = Lab::new();
    lab.write(
        "c.yml",
        r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - command: echo one two
      register: c
    - shell: echo "$((20 + 22))" | tr 4 X > {{ root }}/out; cat {{ root }}/out
      register: s
    - raw: printf raw
      register: r
    - command: touch {{ root }}/made creates={{ root }}/made
    - command: touch {{ root }}/made creates={{ root }}/made
      register: guarded
    - command:
        cmd: pwd
        chdir: "{{ root }}"
      register: where
    - command:
        argv: [printf, "%s|", "a b", c]
      register: argv
    - shell: cat
      args:
        stdin: from stdin
      register: fed
    - assert:
        that:
          - c.stdout == 'one two'
          - c.rc == 0
          - c.cmd == ['echo', 'one', 'two']
          - s.stdout == 'X2'
          - r.stdout == 'raw'
          - not guarded.changed
          - where.stdout == root
          - argv.stdout == 'a b|c|'
          - fed.stdout == 'from stdin'
"#,
    );
    let out = lab.play("c.yml", &[]);
    out.assert_ok();
    assert_eq!(out.recap("localhost"), recap(9, 7, 0, 0), "{}", out.stdout);
}

#[test]
fn a_failing_command_fails_the_host_with_exit_code_2() {
    let lab = Lab::new();
    lab.write(
        "f.yml",
        r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - shell: echo oops >&2; exit 3
    - file: path={{ root }}/never state=touch
"#,
    );
    let out = lab.play("f.yml", &[]);
    out.assert_code(2);
    assert!(
        out.stdout.contains("fatal: [localhost]: FAILED!"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("\"rc\": 3") && out.stdout.contains("\"stderr\": \"oops\""),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("Origin: f.yml:5:7"), "{}", out.stdout);
    assert!(!lab.exists("never"), "a failed host went on");
    assert_eq!(out.recap("localhost"), recap(0, 0, 1, 0));
    assert_eq!(lab.read("f.retry"), "localhost\n");
}

/// A .retry file that is a symlink is replaced, not written through to its target.
#[test]
fn a_retry_file_symlink_is_replaced_not_followed() {
    let lab = Lab::new();
    lab.write("target", "precious\n");
    std::os::unix::fs::symlink(lab.path("target"), lab.path("f.retry")).unwrap();
    lab.write(
        "f.yml",
        "- hosts: localhost\n  gather_facts: no\n  tasks:\n    - command: \"false\"\n",
    );
    lab.play("f.yml", &[]).assert_code(2);
    assert_eq!(lab.read("target"), "precious\n");
    assert_eq!(lab.read("f.retry"), "localhost\n");
    assert!(!lab.path("f.retry").is_symlink());
}

#[test]
fn changed_when_failed_when_and_until() {
    let lab = Lab::new();
    lab.write(
        "w.yml",
        r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - command: "false"
      register: r
      failed_when: r.rc not in [0, 1]
      changed_when: false
    - shell: echo x >> {{ root }}/count; wc -l < {{ root }}/count
      register: n
      until: n.stdout | int >= 3
      retries: 5
      delay: 0
    - command: echo fine
      register: e
      failed_when: "'fine' in e.stdout"
      ignore_errors: true
    - assert:
        that:
          - r.rc == 1
          - n.attempts == 3
"#,
    );
    let out = lab.play("w.yml", &[]);
    out.assert_ok();
    assert_eq!(lab.read("count").lines().count(), 3);
    assert_eq!(
        out.stdout.matches("FAILED - RETRYING").count(),
        2,
        "{}",
        out.stdout
    );
    let r = out.recap("localhost");
    assert_eq!(
        (r.ok, r.changed, r.failed, r.ignored),
        (4, 2, 0, 1),
        "{}",
        out.stdout
    );
}

#[test]
fn commands_are_skipped_in_check_mode_unless_check_mode_false() {
    let lab = Lab::new();
    lab.write(
        "k.yml",
        r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - command: touch {{ root }}/skipped
    - command: touch {{ root }}/forced
      check_mode: false
    - command: touch {{ root }}/guarded creates=/
"#,
    );
    let out = lab.play("k.yml", &["--check"]);
    out.assert_ok();
    assert!(!lab.exists("skipped"));
    assert!(lab.exists("forced"));
    assert_eq!(out.recap("localhost"), recap(2, 1, 0, 1), "{}", out.stdout);
}
