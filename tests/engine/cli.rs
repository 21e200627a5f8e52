use crate::support::Lab;

#[test]
fn doc_lists_modules_and_shows_arguments_from_the_specs() {
    let lab = Lab::new();
    let all = lab.run(&["doc"]);
    all.assert_ok();
    for m in [
        "command",
        "copy",
        "template",
        "lineinfile",
        "wait_for",
        "fetch",
        "apt",
        "sysctl",
        "modprobe",
        "mount",
        "service",
        "systemd_service",
        "hostname",
        "reboot",
    ] {
        assert!(
            all.stdout.lines().any(|l| l.starts_with(m)),
            "{m} missing:\n{}",
            all.stdout
        );
    }
    let copy = lab.run(&["doc", "copy"]);
    copy.assert_ok();
    assert!(
        copy.stdout.contains("dest")
            && copy.stdout.contains("required")
            && copy
                .stdout
                .contains("One of these is required: src, content"),
        "{}",
        copy.stdout
    );
    // Collection and old names lead to the same module.
    let sysctl = lab.run(&["doc", "ansible.posix.sysctl"]);
    sysctl.assert_ok();
    for want in [
        "SYSCTL",
        "sysctl_file",
        "default: \"/etc/sysctl.conf\"",
        "Also written as: ansible.posix.sysctl",
    ] {
        assert!(sysctl.stdout.contains(want), "{want}:\n{}", sysctl.stdout);
    }
    let systemd = lab.run(&["doc", "systemd"]);
    assert!(
        systemd.stdout.contains("SYSTEMD_SERVICE") && systemd.stdout.contains("daemon_reload"),
        "{}",
        systemd.stdout
    );
    let json = lab.run(&["doc", "lineinfile", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["args"][0]["name"], "path");
    lab.run(&["doc", "coppy"])
        .assert_code(5)
        .assert_error(&["did you mean 'copy'?"]);
}

#[test]
fn doc_says_which_known_modules_are_not_implemented() {
    let lab = Lab::new();
    let yum = lab.run(&["doc", "yum"]);
    yum.assert_ok();
    for want in [
        "YUM",
        "Not implemented in timonel",
        "update_cache",
        "(boolean)",
    ] {
        assert!(yum.stdout.contains(want), "{want}:\n{}", yum.stdout);
    }
    let pg = lab.run(&["doc", "community.postgresql.postgresql_user", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&pg.stdout).unwrap();
    assert_eq!(v["implemented"], false);
    assert!(lab
        .run(&["doc", "copy", "--json"])
        .stdout
        .contains("\"implemented\": true"));
}

#[test]
fn completions_list_tasks_syntax_check_and_list_hosts() {
    let lab = Lab::new();
    let c = lab.run(&["completions", "bash"]);
    c.assert_ok();
    assert!(c.stdout.contains("_timonel"));
    lab.write("p.yml", "- name: site\n  hosts: localhost\n  tasks:\n    - name: one\n      ping:\n      tags: [a]\n    - block:\n        - name: two\n          ping:\n");
    let t = lab.run(&["run", "p.yml", "--list-tasks"]);
    t.assert_ok();
    assert!(
        t.stdout.contains("      one\tTAGS: [a]") && t.stdout.contains("      two"),
        "{}",
        t.stdout
    );
    lab.run(&["run", "p.yml", "--syntax-check"]).assert_ok();
    let h = lab.run(&["run", "p.yml", "--list-hosts"]);
    assert!(
        h.stdout.contains("hosts (1):\n      localhost"),
        "{}",
        h.stdout
    );
}

#[test]
fn json_output_has_results_and_stats() {
    let lab = Lab::new();
    lab.write("p.yml", "- hosts: localhost\n  gather_facts: no\n  tasks:\n    - name: say\n      command: echo hi\n");
    let out = lab.run(&["run", "p.yml", "--output", "json"]);
    out.assert_ok();
    let v: serde_json::Value =
        serde_json::from_str(&out.stdout).expect("stdout is one JSON document");
    assert_eq!(v["stats"]["localhost"]["changed"], 1);
    assert_eq!(v["plays"][0]["tasks"][0]["task"]["name"], "say");
    assert_eq!(
        v["plays"][0]["tasks"][0]["hosts"]["localhost"]["stdout"],
        "hi"
    );
}

#[test]
fn gathered_facts_describe_this_machine() {
    let lab = Lab::new();
    lab.write("f.yml", r#"
- hosts: localhost
  tasks:
    - copy:
        content: "{{ ansible_facts.system }} {{ ansible_system }} {{ ansible_processor_vcpus > 0 }} {{ ansible_memtotal_mb > 0 }} {{ ansible_facts.os_family | length > 0 }}"
        dest: "{{ root }}/facts"
"#);
    let out = lab.play("f.yml", &[]);
    out.assert_ok();
    assert!(out.stdout.contains("TASK [Gathering Facts]"));
    assert_eq!(lab.read("facts"), "Linux Linux True True True");
}
