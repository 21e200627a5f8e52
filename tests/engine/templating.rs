use crate::support::Lab;

#[test]
fn ansible_filters_tests_and_lookups() {
    let lab = Lab::new();
    lab.write("data.txt", "from a file\n");
    // As in ansible-core 2.19, backslashes in Jinja string constants are kept: in a block
    // scalar, 'node\1' is the backreference (ansible-playbook prints node01).
    lab.write("t.yml", r#"
- hosts: localhost
  gather_facts: no
  vars:
    base: {a: 1, nested: {x: 1}}
    extra: {b: 2, nested: {y: 2}}
    names: [web1, db1, web2]
    users: [{name: ann, admin: true}, {name: bob, admin: false}]
    lazy: "{{ base.a + 41 }}"
    yes_string: "yes"
  tasks:
    - copy:
        dest: "{{ root }}/out"
        content: |
          combine={{ base | combine(extra, recursive=True) | to_json }}
          dict2items={{ extra | dict2items | map(attribute='key') | join(',') }}
          items2dict={{ [{'key': 'k', 'value': 'v'}] | items2dict | to_json }}
          regex_replace={{ 'web-01' | regex_replace('^web-(\d+)$', 'node\1') }}
          regex_search={{ 'version 1.28.3' | regex_search('\d+\.\d+') }}
          select={{ names | select('match', 'web') | list | join(',') }}
          selectattr={{ users | selectattr('admin') | map(attribute='name') | first }}
          reject={{ names | reject('search', 'db') | list | length }}
          unique={{ [1, 2, 2, 3] | unique | list | join('') }}
          b64={{ 'timonel' | b64encode }}/{{ 'dGltb25lbA==' | b64decode }}
          path={{ '/etc/kubernetes/admin.conf' | basename }} {{ '/etc/kubernetes/admin.conf' | dirname }}
          bool={{ yes_string | bool }} {{ 'off' | bool }}
          int={{ '42' | int + 1 }}
          ternary={{ (1 > 2) | ternary('big', 'small') }}
          default={{ nothing | default('dflt') }} {{ base.missing.deeper | default('chained') }} {{ '' | default('empty', true) }}
          hash={{ 'abc' | hash('sha1') }}
          quote={{ "it's" | quote }}
          lazy={{ lazy }}
          yaml={{ {'k': [1, 'two']} | to_yaml | trim }}
          from_json={{ ('{"a": [5]}' | from_json).a[0] }}
          from_yaml={{ ('b: {c: 7}' | from_yaml).b.c }}
          lookup_file={{ lookup('file', 'data.txt') }}
          lookup_env={{ lookup('env', 'TIMONEL_TEST_ENV') }}
          version={{ '1.28.3' is version('1.27', '>') }}
          defined={{ base is defined }} {{ nope is defined }} {{ nope is undefined }}
          hostvars={{ hostvars['localhost']['inventory_hostname'] }}
          flatten={{ [[1, [2]], 3] | flatten | join(',') }}
          set={{ [1, 2, 3] | difference([2]) | join(',') }} {{ [1] | union([2]) | join(',') }}
          python={{ 'a,b'.split(',') | length }} {{ 'Web'.lower() }} {{ 'x'.startswith('x') }}
"#);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_timonel"))
        .args([
            "run",
            "t.yml",
            "-e",
            &format!("root={}", lab.root().display()),
        ])
        .current_dir(lab.root())
        .env("TIMONEL_TEST_ENV", "from-env")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let got = lab.read("out");
    let want = r#"combine={"a": 1, "nested": {"x": 1, "y": 2}, "b": 2}
dict2items=b,nested
items2dict={"k": "v"}
regex_replace=node01
regex_search=1.28
select=web1,web2
selectattr=ann
reject=2
unique=123
b64=dGltb25lbA==/timonel
path=admin.conf /etc/kubernetes
bool=True False
int=43
ternary=small
default=dflt chained empty
hash=a9993e364706816aba3e25717850c26c9cd0d89d
quote='it'"'"'s'
lazy=42
yaml=k:
- 1
- two
from_json=5
from_yaml=7
lookup_file=from a file
lookup_env=from-env
version=True
defined=True False True
hostvars=localhost
flatten=1,2,3
set=1,3 1,2
python=2 web True
"#;
    for (g, w) in got.lines().zip(want.lines()) {
        assert_eq!(g, w);
    }
    assert_eq!(got, want);
}

#[test]
fn omit_native_types_and_extra_vars_forms() {
    let lab = Lab::new();
    lab.write("vars.yml", "from_file: file\n");
    lab.write(
        "o.yml",
        r#"
- hosts: localhost
  gather_facts: no
  vars:
    count: 3
  tasks:
    - file:
        path: "{{ root }}/f"
        state: touch
        mode: "{{ wanted_mode | default(omit) }}"
    - copy:
        content: "{{ range(count) | list }}|{{ from_file }}|{{ json_var.k }}|{{ kv }}"
        dest: "{{ root }}/g"
    - debug: msg="{{ item }}"
      loop: "{{ range(count) | list }}"
      register: looped
    - assert: {that: ["looped.results | length == 3"]}
"#,
    );
    lab.play(
        "o.yml",
        &[
            "-e",
            "@vars.yml",
            "-e",
            "{\"json_var\": {\"k\": 9}}",
            "-e",
            "kv=a",
        ],
    )
    .assert_ok();
    assert_eq!(lab.read("g"), "[0, 1, 2]|file|9|a");
}

/// Output of a host (registered results, set_fact made from it, loop items, task vars built
/// from it) that holds Jinja is data: it is never templated again, so it can't run a lookup
/// on the controller, in arguments, when/until/changed_when/failed_when, debug or loops.
#[test]
fn jinja_in_host_output_never_runs_on_the_controller() {
    let lab = Lab::new();
    let pwned = lab.path("PWNED");
    lab.write(
        "p.yml",
        &r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - shell: "printf '%s' \"{{ '{{' }} lookup('pipe', 'touch MARK') {{ '}}' }}\""
      register: r
    - debug: var=r.stdout
    - debug: msg="{{ r.stdout }}"
    - set_fact: {x: "{{ r.stdout }}"}
    - debug: msg="{{ x }}"
    - debug: msg="{{ y }}"
      vars: {y: "{{ r.stdout }}"}
    - debug: msg=when
      when: '"lookup" in {{ r.stdout }}'
    - debug: msg="{{ item }}"
      loop: ["{{ r.stdout }}", "{{ x }}"]
    - command: echo {{ x }}
      register: c
      changed_when: "{{ r.stdout }} == 1"
      failed_when: "{{ c.stdout }} == 1"
      until: "{{ c.stdout }} != 1"
      retries: 1
      delay: 0
    - copy: {content: "{{ x }}", dest: "{{ root }}/out"}
"#
        .replace("MARK", &pwned.display().to_string()),
    );
    let out = lab.play("p.yml", &[]);
    out.assert_ok();
    assert!(
        !pwned.exists(),
        "a lookup in host output ran:\n{}",
        out.stdout
    );
    // The text arrives intact wherever it is used.
    assert!(lab.read("out").contains("{{ lookup('pipe', 'touch "));
    assert!(
        out.stdout
            .contains("ok: [localhost] => {\n    \"msg\": \"when\""),
        "{}",
        out.stdout
    );
}
