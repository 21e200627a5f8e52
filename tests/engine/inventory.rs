use crate::support::Lab;

const INI: &str = "\
# web servers
[web]
web[01:03] ansible_connection=local
db-a ansible_connection=local role=primary

[db]
db-[a:b] ansible_connection=local

[web:vars]
tier=front
port=8080

[prod:children]
web
db

[prod:vars]
tier=any
env=prod
";

fn hosts_of(out: &str) -> Vec<String> {
    out.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.contains(':') && !l.contains('#'))
        .map(str::to_string)
        .collect()
}

#[test]
fn ini_inventory_groups_ranges_and_patterns() {
    let lab = Lab::new();
    lab.write("hosts.ini", INI);
    lab.write(
        "p.yml",
        "- hosts: '{{ pat | default(\"all\") }}'\n  gather_facts: no\n  tasks: []\n",
    );
    let list = |pattern: &str| -> Vec<String> {
        lab.write(
            "q.yml",
            &format!("- hosts: '{pattern}'\n  gather_facts: no\n  tasks: []\n"),
        );
        let out = lab.run(&["run", "q.yml", "-i", "hosts.ini", "--list-hosts"]);
        out.assert_ok();
        let after: String = out
            .stdout
            .lines()
            .skip_while(|l| !l.contains("hosts ("))
            .skip(1)
            .collect::<Vec<_>>()
            .join("\n");
        hosts_of(&after)
    };
    assert_eq!(list("web"), ["web01", "web02", "web03", "db-a"]);
    assert_eq!(list("prod:!web"), ["db-b"]);
    assert_eq!(list("web:&db"), ["db-a"]);
    assert_eq!(list("web0*"), ["web01", "web02", "web03"]);
    assert_eq!(list("~web0[12]"), ["web01", "web02"]);
    assert_eq!(list("web[1:2]"), ["web02", "web03"]);
    assert_eq!(list("db-b,web01"), ["web01", "db-b"]);
}

#[test]
fn variable_precedence_follows_ansible() {
    let lab = Lab::new();
    lab.write("inv/hosts.ini", INI);
    lab.write(
        "inv/group_vars/all.yml",
        "level: group_all\nfrom_all: yes\n",
    );
    lab.write("inv/group_vars/web/main.yml", "level: group_web\n");
    lab.write("inv/host_vars/web01.yml", "level: host_web01\n");
    lab.write("group_vars/web.yml", "pb_level: playbook_group_web\n");
    lab.write("v.yml", r#"
- hosts: web
  gather_facts: no
  vars:
    play_level: play
  tasks:
    - copy:
        dest: "{{ root }}/{{ inventory_hostname }}"
        content: "{{ level }} {{ tier }} {{ port + 1 }} {{ env }} {{ from_all }} {{ pb_level }} {{ play_level }} {{ group_names | join(',') }} {{ cli | default('-') }}\n"
"#);
    let root = format!("root={}", lab.root().display());
    lab.run(&["run", "v.yml", "-i", "inv", "-e", &root, "-e", "cli=extra"])
        .assert_ok();
    assert_eq!(
        lab.read("web01"),
        "host_web01 front 8081 prod True playbook_group_web play prod,web extra\n"
    );
    assert_eq!(
        lab.read("web02"),
        "group_web front 8081 prod True playbook_group_web play prod,web extra\n"
    );
    // db-a is in web and db: web's vars and db's; the host line var wins over groups.
    assert_eq!(
        lab.read("db-a"),
        "group_web front 8081 prod True playbook_group_web play db,prod,web extra\n"
    );
}

#[test]
fn yaml_inventory_with_children_and_vars() {
    let lab = Lab::new();
    lab.write(
        "hosts.yml",
        r#"
all:
  vars:
    ansible_connection: local
  children:
    k8s:
      children:
        control_plane:
          hosts:
            cp1: {node_role: cp}
        workers:
          hosts:
            w[1:2]:
          vars:
            node_role: worker
"#,
    );
    lab.write("y.yml", "- hosts: k8s\n  gather_facts: no\n  tasks:\n    - copy: {content: '{{ node_role }}', dest: '{{ root }}/{{ inventory_hostname }}'}\n");
    let root = format!("root={}", lab.root().display());
    lab.run(&["run", "y.yml", "-i", "hosts.yml", "-e", &root])
        .assert_ok();
    assert_eq!(lab.read("cp1"), "cp");
    assert_eq!(lab.read("w2"), "worker");
    let g = lab.run(&["inventory", "-i", "hosts.yml", "--graph"]);
    g.assert_ok();
    assert!(g.stdout.contains("@all:\n  |--@k8s:\n  |  |--@control_plane:\n  |  |  |--cp1\n  |  |--@workers:\n  |  |  |--w1\n"), "{}", g.stdout);
    let l = lab.run(&["inventory", "-i", "hosts.yml", "--list"]);
    let v: serde_json::Value = serde_json::from_str(&l.stdout).expect("json");
    assert_eq!(v["_meta"]["hostvars"]["w1"]["node_role"], "worker");
    assert_eq!(v["workers"]["hosts"], serde_json::json!(["w1", "w2"]));
}

#[test]
fn comma_list_inventory_and_unknown_ansible_vars_are_accepted() {
    let lab = Lab::new();
    lab.write("hosts", "[all:vars]\nansible_python_interpreter=/usr/bin/python3\nansible_connection=local\n[x]\nn1\n");
    lab.write(
        "p.yml",
        "- hosts: all\n  gather_facts: no\n  tasks:\n    - ping:\n",
    );
    let out = lab.run(&["run", "p.yml", "-i", "hosts"]);
    out.assert_ok();
    assert_eq!(out.recap("n1").ok, 1);
    let out = lab.run(&["run", "p.yml", "-i", "a1,a2,", "-c", "local"]);
    out.assert_ok();
    assert_eq!(out.recap("a2").ok, 1);
}
