//! Roles as Ansible runs them: an equal role listed again runs only if the first did not
//! complete (a task of it ran), per play; `meta: end_role`; include_role's `public`;
//! a role's files stay inside the role. And the settings that change how variables
//! combine (ANSIBLE_HASH_BEHAVIOUR) and when facts are gathered (ANSIBLE_GATHERING).
//! Each expected result was recorded with ansible-core 2.19.

use crate::support::{recap, Lab};

#[test]
fn duplicate_roles_end_role_and_public_include_role() {
    let lab = Lab::new();
    lab.write(
        "roles/a/tasks/main.yml",
        "- shell: echo a >> {{ root }}/runs\n",
    );
    lab.write(
        "roles/e/tasks/main.yml",
        "- shell: echo e1 >> {{ root }}/runs\n  notify: h\n- meta: end_role\n- shell: echo e2 >> {{ root }}/runs\n",
    );
    lab.write(
        "roles/e/handlers/main.yml",
        "- name: h\n  shell: echo handler >> {{ root }}/runs\n",
    );
    lab.write(
        "roles/p/tasks/main.yml",
        "- shell: echo p >> {{ root }}/runs\n",
    );
    lab.write("roles/p/vars/main.yml", "p_var: from-p\n");
    lab.write(
        "d.yml",
        r#"
- hosts: localhost
  gather_facts: no
  roles:
    # Skipped by its condition: not completed, so the equal one below runs...
    - {role: a, when: go is defined}
    - {role: a, when: go is defined}
  tasks:
    - set_fact: {go: 1}
    # ...but this one is equal to the one that ran (and import_role allows duplicates
    # unless told not to).
    - import_role: {name: a, allow_duplicates: false}
- hosts: localhost
  gather_facts: no
  roles:
    # A new play: the role runs again, once.
    - {role: a, when: go is defined}
    - {role: a, when: go is defined}
    # end_role skips the rest of the role, which still completes.
    - e
    - e
  tasks:
    - include_role: {name: p}
    - shell: echo "{{ p_var | default('private') }}" >> {{ root }}/runs
    - include_role: {name: p, public: true}
    - shell: echo "{{ p_var | default('private') }}" >> {{ root }}/runs
"#,
    );
    let out = lab.play("d.yml", &[]);
    out.assert_ok();
    // The roles' handler runs after the play's tasks: roles and tasks are one section.
    assert_eq!(
        lab.read("runs"),
        "a\na\ne1\np\nprivate\np\nfrom-p\nhandler\n"
    );
    assert_eq!(out.recap("localhost"), recap(11, 8, 0, 2), "{}", out.stdout);
}

#[test]
fn a_role_file_outside_the_role_is_refused() {
    let lab = Lab::new();
    lab.write("roles/a/tasks/main.yml", "- debug: msg=a\n");
    lab.write("elsewhere.yml", "- debug: msg=outside\n");
    lab.write(
        "o.yml",
        "- hosts: localhost\n  gather_facts: no\n  tasks:\n    - import_role: {name: a, tasks_from: ../../../elsewhere.yml}\n",
    );
    lab.play("o.yml", &[])
        .assert_error(&["as it is not inside the expected role path"]);
}

#[test]
fn hash_behaviour_merge_merges_mappings_across_sources() {
    let lab = Lab::new();
    lab.write("group_vars/all.yml", "conf: {a: 1, nested: {x: 1}}\n");
    lab.write(
        "m.yml",
        r#"
- hosts: localhost
  gather_facts: no
  vars:
    conf: {b: 2, nested: {y: 2}}
  tasks:
    - copy:
        dest: "{{ root }}/conf"
        content: "{{ conf | to_json }}"
"#,
    );
    let root = format!("root={}", lab.root().display());
    let run = |behaviour: &str| {
        lab.run_env(
            &["run", "m.yml", "-e", &root, "-e", r#"{"conf": {"c": 3}}"#],
            &[("ANSIBLE_HASH_BEHAVIOUR", behaviour)],
        )
        .assert_ok();
        lab.read("conf")
    };
    assert_eq!(
        run("merge"),
        r#"{"a": 1, "nested": {"x": 1, "y": 2}, "b": 2, "c": 3}"#
    );
    assert_eq!(run("replace"), r#"{"c": 3}"#);
}

#[test]
fn gathering_setting_decides_when_a_play_gathers() {
    let lab = Lab::new();
    lab.write(
        "g.yml",
        r#"
- hosts: localhost
  tasks:
    - debug: {msg: "facts={{ ansible_facts.fqdn is defined }}"}
- hosts: localhost
  tasks:
    - debug: {msg: "facts={{ ansible_facts.fqdn is defined }}"}
- hosts: localhost
  gather_facts: true
  tasks:
    - debug: {msg: "facts={{ ansible_facts.fqdn is defined }}"}
"#,
    );
    let gathers = |mode: &str| {
        let out = lab.run_env(&["run", "g.yml"], &[("ANSIBLE_GATHERING", mode)]);
        out.assert_ok();
        (
            out.stdout.matches("TASK [Gathering Facts]").count(),
            out.stdout.matches("facts=True").count(),
        )
    };
    assert_eq!(gathers("implicit"), (3, 3));
    // smart: once per host in a run, even where the play asks for it.
    assert_eq!(gathers("smart"), (1, 3));
    assert_eq!(gathers("explicit"), (1, 1));
}
