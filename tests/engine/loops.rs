//! Loops as ansible-core runs them: loop_control (extended, index_var, break_when), the
//! with_* lookups' shapes and errors, what an item leaves for the next, and a loop over
//! undefined names that its condition skips.

use crate::support::Lab;

#[test]
fn extended_loop_variables_in_tasks_and_looped_includes() {
    let lab = Lab::new();
    lab.write(
        "inner.yml",
        r#"
- copy:
    content: "{{ ansible_loop.index }}/{{ ansible_loop.length }} {{ ansible_loop.allitems | join(',') }} {{ ansible_loop.previtem | default('-') }} {{ ansible_loop.nextitem | default('-') }} {{ i }}"
    dest: "{{ root }}/inc-{{ item }}"
"#,
    );
    lab.write(
        "x.yml",
        r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - include_tasks: inner.yml
      loop: [a, b, c]
      loop_control: {extended: yes, index_var: i}
    - debug: var=item
      loop: [1, 2]
      loop_control: {extended: yes, extended_allitems: no, index_var: n}
      register: ext
    - debug: var=item
      loop: [1]
      register: plain
    - debug: var=item
      loop: [1, 2, 3, 4]
      loop_control: {break_when: item >= 2}
      register: broken
    - assert:
        that:
          - ext.results[1].ansible_loop.first == false
          - ext.results[1].ansible_loop.last
          - ext.results[1].ansible_loop.revindex0 == 0
          - ext.results[1].ansible_loop.allitems is undefined
          - ext.results[1].n == 1 and ext.results[1].ansible_index_var == 'n'
          - plain.results[0].ansible_loop is undefined
          - broken.results | length == 2
"#,
    );
    lab.play("x.yml", &[]).assert_ok();
    assert_eq!(lab.read("inc-a"), "1/3 a,b,c - b 0");
    assert_eq!(lab.read("inc-b"), "2/3 a,b,c a c 1");
    assert_eq!(lab.read("inc-c"), "3/3 a,b,c b - 2");
}

#[test]
fn with_lookups_shape_their_items_as_ansible_does() {
    let lab = Lab::new();
    lab.write(
        "w.yml",
        r#"
- hosts: localhost
  gather_facts: no
  vars:
    users:
      - {name: alice, pubkeys: [k1, k2], mysql: {hosts: [h1]}}
      - {name: bob, pubkeys: [k3]}
      - {name: carol, skipped: true, pubkeys: [k4]}
  tasks:
    - debug: msg="{{ item.0.name }} {{ item.1 }}"
      with_subelements: ["{{ users }}", pubkeys]
      register: sub
    - debug: msg="{{ item.1 }}"
      with_subelements: ["{{ users }}", mysql.hosts, {skip_missing: true}]
      register: missing
    - debug: var=item
      with_random_choice: [x, y]
      register: picked
    - debug: var=item
      with_indexed_items: {a: 1}
      register: indexed
    - debug: var=item
      with_sequence: count=0
      register: empty
    - debug: var=item
      with_sequence: start=7 end=8 format=host%02d
      register: hosts
    - debug: var=item
      with_items: ["{{ not_defined_anywhere }}"]
      when: false
      register: undefined_skipped
    - assert:
        that:
          - sub.results | map(attribute='msg') | list == ['alice k1', 'alice k2', 'bob k3']
          - sub.results[0].item.0.pubkeys is undefined
          - missing.results | map(attribute='msg') | list == ['h1']
          - picked.results[0].item in ['x', 'y'] and picked.results | length == 1
          - "indexed.results[0].item == [0, {'a': 1}]"
          - empty is skipped and empty.results == []
          - hosts.results | map(attribute='item') | list == ['host07', 'host08']
          - undefined_skipped is skipped
"#,
    );
    lab.play("w.yml", &[]).assert_ok();
}

#[test]
fn with_lookup_errors_say_what_ansible_says() {
    let lab = Lab::new();
    for (name, task, says) in [
        (
            "together",
            "with_together: []",
            "with_together requires at least one element in each list",
        ),
        (
            "sequence",
            "with_sequence: start=0 junk=3",
            "unrecognized arguments to with_sequence: ['junk']",
        ),
        (
            "subelements",
            "with_subelements: [[{a: 1}], a]",
            "the key a should point to a list, got '1'",
        ),
        (
            "undefined",
            "with_items: ['{{ not_defined_anywhere }}']",
            "undefined variable 'not_defined_anywhere'",
        ),
    ] {
        let file = format!("{name}.yml");
        lab.write(
            &file,
            &format!("- hosts: localhost\n  gather_facts: no\n  tasks:\n    - debug: var=item\n      {task}\n"),
        );
        let out = lab.play(&file, &[]);
        out.assert_code(2);
        assert!(out.stdout.contains(says), "{name}: {}", out.stdout);
    }
}

#[test]
fn an_item_sees_what_earlier_items_set_and_registered() {
    let lab = Lab::new();
    lab.write(
        "c.yml",
        r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - set_fact:
        names: "{{ names | default([]) + [item] }}"
      loop: [a, b, c]
    - command: echo {{ last.stdout | default('none') }}-{{ item }}
      loop: [x, y]
      register: last
    - assert:
        that:
          - names == ['a', 'b', 'c']
          - last.results | map(attribute='stdout') | list == ['none-x', 'none-x-y']
"#,
    );
    lab.play("c.yml", &[]).assert_ok();
}
