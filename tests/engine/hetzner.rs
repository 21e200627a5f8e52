//! Hetzner Cloud modules against the fake API (tests/hetzner/fake_hcloud.py), whose wire
//! format the official client checks (official_client_accepts_the_fake).

use std::process::Command;

#[path = "../hetzner/fake.rs"]
pub(crate) mod fake;

use crate::support::{recap, Lab};
use fake::{fake_script, Fake, TOKEN};

const KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHq7kqz4XIRZ2GJ3Q9m2cH9kZ2b5Z0d8m0bCkq4J0o3T ops@laptop";

fn key_play(extra: &str) -> String {
    format!(
        "- hosts: localhost\n  gather_facts: no\n  tasks:\n    - hetzner.hcloud.ssh_key:\n        name: ops\n        \
         public_key: \"{KEY}\"\n{extra}      register: k\n    - debug: var=k.hcloud_ssh_key.fingerprint\n"
    )
}

#[test]
fn ssh_key_created_once_updated_and_removed_check_mode_writes_nothing() {
    let fake = Fake::start();
    let t = Lab::new();
    t.write("k.yml", &key_play("        labels: {env: test}\n"));
    let out = fake.run(&t, &["run", "k.yml", "--check", "--diff"]);
    assert_eq!(out.recap("localhost"), recap(2, 1, 0, 0), "{}", out.stdout);
    assert!(out.stdout.contains("+name: \"ops\""), "{}", out.stdout);
    assert_eq!(
        fake.writes(),
        Vec::<String>::new(),
        "check mode wrote to the API"
    );

    let out = fake.run(&t, &["run", "k.yml"]);
    assert_eq!(out.recap("localhost"), recap(2, 1, 0, 0), "{}", out.stdout);
    assert!(
        out.stdout.contains(
            "\"k.hcloud_ssh_key.fingerprint\": \"8f:57:f7:5f:a1:12:86:a7:fb:93:3c:1c:e9:3e:ae:d3\""
        ),
        "{}",
        out.stdout
    );
    assert_eq!(fake.writes(), ["POST /v1/ssh_keys 201"]);
    assert_eq!(
        fake.run(&t, &["run", "k.yml"]).recap("localhost").changed,
        0
    );
    assert_eq!(fake.writes().len(), 1, "a second run wrote");

    t.write("k.yml", &key_play("        labels: {env: prod}\n"));
    let out = fake.run(&t, &["run", "k.yml", "--diff"]);
    assert_eq!(out.recap("localhost").changed, 1, "{}", out.stdout);
    assert!(
        out.stdout.contains("+labels: {\"env\":\"prod\"}"),
        "{}",
        out.stdout
    );
    assert!(
        fake.writes()[1].starts_with("PUT /v1/ssh_keys/"),
        "{:?}",
        fake.writes()
    );

    t.write("k.yml", &key_play("        state: absent\n"));
    assert_eq!(
        fake.run(&t, &["run", "k.yml"]).recap("localhost").changed,
        1
    );
    assert!(
        fake.writes()[2].starts_with("DELETE /v1/ssh_keys/"),
        "{:?}",
        fake.writes()
    );
    assert_eq!(
        fake.run(&t, &["run", "k.yml"]).recap("localhost").changed,
        0
    );
}

/// An API that leaves documented keys out of its objects gets a clear result, never a crash.
#[test]
fn objects_missing_documented_keys_do_not_crash_the_plan() {
    let fake = Fake::start();
    let t = Lab::new();
    t.write("k.yml", &key_play(""));
    fake.run(&t, &["run", "k.yml"]).assert_ok();
    fake.omit(&["id", "public_key", "fingerprint", "labels"]);
    let out = fake.run(&t, &["run", "k.yml", "--check", "--diff"]);
    assert!(!out.stdout.contains("internal error"), "{}", out.stdout);
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    out.assert_ok();
}

#[test]
fn api_faults_are_retried_or_reported_with_the_api_error() {
    let fake = Fake::start();
    let t = Lab::new();
    t.write("k.yml", &key_play(""));
    // Rate limited on the create, then a 503 on the next read: both retried, one key made.
    fake.fault(
        r#"[{"status": 429, "code": "rate_limit_exceeded", "method": "POST", "reset_in": 1},
                  {"status": 503, "code": "unavailable", "method": "GET"}]"#,
    );
    let out = fake.run(&t, &["run", "k.yml"]);
    assert_eq!(out.recap("localhost"), recap(2, 1, 0, 0), "{}", out.stdout);
    let log = fake.log();
    assert_eq!(log[0], "GET /v1/ssh_keys 503");
    assert_eq!(
        fake.writes(),
        ["POST /v1/ssh_keys 429", "POST /v1/ssh_keys 201"],
        "{log:?}"
    );

    // The same key under another name: the API's own error, naming the field.
    t.write(
        "dup.yml",
        &key_play("").replace("name: ops", "name: ops-copy"),
    );
    let out = fake.run(&t, &["run", "dup.yml"]);
    out.assert_code(2);
    assert!(
        out.stdout.contains(
            "Hetzner API POST /ssh_keys: uniqueness_error: SSH key with the same fingerprint already exists (fields: public_key)"
        ),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("Origin: dup.yml:4:7"), "{}", out.stdout);

    // A token that is wrong or missing; the token itself never appears.
    let out = fake.run_token(&t, &["run", "k.yml"], "not-the-token");
    out.assert_code(2);
    assert!(
        out.stdout
            .contains("unauthorized: unable to authenticate: check the token"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("not-the-token") && !out.stderr.contains("not-the-token"));
    let out = fake.run_token(&t, &["run", "k.yml"], "");
    out.assert_code(2);
    assert!(
        out.stdout
            .contains("no Hetzner Cloud API token: set HCLOUD_TOKEN"),
        "{}",
        out.stdout
    );
    // A create-only field that differs is reported, not silently ignored.
    t.write("other.yml", &key_play("").replace("AAAAIHq7", "AAAAIHq8"));
    let out = fake.run(&t, &["run", "other.yml", "-v"]);
    assert_eq!(out.recap("localhost").changed, 0, "{}", out.stdout);
    assert!(
        out.stdout
            .contains("the public_key differs from the existing key 'ops'"),
        "{}",
        out.stdout
    );
}

/// The fake's fidelity, checked by the official Python client (installed by tests/run in
/// $LAB_DIR/hcloud-venv, or HCLOUD_PYTHON).
#[test]
fn official_client_accepts_the_fake() {
    let fake = Fake::start();
    let python = std::env::var("HCLOUD_PYTHON").unwrap_or_else(|_| {
        let lab = std::env::var("LAB_DIR").unwrap_or_else(|_| "/var/tmp/timonel-lab".into());
        format!("{lab}/hcloud-venv/bin/python")
    });
    let out = Command::new(&python)
        .arg(fake_script("official_client.py"))
        .args([&fake.endpoint(), TOKEN])
        .output()
        .unwrap_or_else(|e| panic!("{python}: {e} (tests/run installs the hcloud client)"));
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "official client: ok\n"
    );
}

#[test]
fn networks_with_subnets_and_servers_attached() {
    let fake = Fake::start();
    let t = Lab::new();
    let play = |subnets: &str, server_nets: &str| {
        format!(
            r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - hetzner.hcloud.network:
        name: k8s
        ip_range: 10.0.0.0/16
        subnets: {subnets}
        labels: {{cluster: k8s}}
    - hetzner.hcloud.network: {{name: backups, ip_range: 10.1.0.0/16, subnets: [{{ip_range: 10.1.0.0/24}}]}}
    - hetzner.hcloud.server:
        name: cp-1
        server_type: cx22
        image: debian-12
        networks: {server_nets}
      register: s
    - debug: var=s.hcloud_server.private_networks_info
"#
        )
    };
    t.write("n.yml", &play("[{ip_range: 10.0.1.0/24}]", "[k8s]"));
    let out = fake.run(&t, &["run", "n.yml", "--check", "--diff"]);
    out.assert_ok();
    assert_eq!(out.recap("localhost").changed, 3, "{}", out.stdout);
    assert!(
        out.stdout
            .contains("+subnets: [\"10.0.1.0/24 eu-central cloud\"]"),
        "{}",
        out.stdout
    );
    assert_eq!(
        fake.writes(),
        Vec::<String>::new(),
        "check mode wrote to the API"
    );

    let out = fake.run(&t, &["run", "n.yml"]);
    assert_eq!(out.recap("localhost"), recap(4, 3, 0, 0), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("\"ip\": \"10.0.1.2\",\n            \"name\": \"k8s\""),
        "{}",
        out.stdout
    );
    assert_eq!(
        fake.run(&t, &["run", "n.yml"]).recap("localhost").changed,
        0
    );

    // A second subnet, and the server joins the second network: actions, not re-creation.
    t.write(
        "n.yml",
        &play(
            "[{ip_range: 10.0.1.0/24}, {ip_range: 10.0.2.0/24}]",
            "[k8s, backups]",
        ),
    );
    let out = fake.run(&t, &["run", "n.yml"]);
    assert_eq!(out.recap("localhost").changed, 2, "{}", out.stdout);
    let w = fake.writes();
    assert!(
        w.iter().any(|l| l.ends_with("/actions/add_subnet 201")),
        "{w:?}"
    );
    assert!(
        w.iter()
            .any(|l| l.ends_with("/actions/attach_to_network 201")),
        "{w:?}"
    );
    assert_eq!(
        w.iter()
            .filter(|l| l.starts_with("POST /v1/servers "))
            .count(),
        1,
        "{w:?}"
    );
    assert_eq!(
        fake.run(&t, &["run", "n.yml"]).recap("localhost").changed,
        0
    );

    // The collection's subnetwork module; a network that does not exist is named.
    t.write(
        "sub.yml",
        "- hosts: localhost\n  gather_facts: no\n  tasks:\n    - hetzner.hcloud.subnetwork: {network: k8s, ip_range: 10.0.2.0/24, state: absent}\n    \
         - hetzner.hcloud.subnetwork: {network: nope, ip_range: 10.9.0.0/24}\n",
    );
    let out = fake.run(&t, &["run", "sub.yml"]);
    out.assert_code(2);
    assert_eq!(out.recap("localhost").changed, 1, "{}", out.stdout);
    assert!(
        out.stdout
            .contains("network 'nope' not found: create it first (hetzner_network)"),
        "{}",
        out.stdout
    );
    assert!(fake
        .writes()
        .last()
        .unwrap()
        .ends_with("/actions/delete_subnet 201"));
}

#[test]
fn server_faults_fail_clearly_and_never_duplicate() {
    let fake = Fake::start();
    let t = Lab::new();
    t.write(
        "s.yml",
        "- hosts: localhost\n  gather_facts: no\n  tasks:\n    - hetzner_server: {name: web-1, server_type: cx22, image: debian-12, location: nbg1}\n",
    );
    // The create is refused by a 503 twice, then goes through: one server.
    fake.fault(r#"[{"status": 503, "code": "unavailable", "method": "POST", "times": 2}]"#);
    fake.run(&t, &["run", "s.yml"]).assert_ok();
    let posts: Vec<String> = fake
        .writes()
        .into_iter()
        .filter(|w| w.starts_with("POST /v1/servers"))
        .collect();
    assert_eq!(
        posts,
        [
            "POST /v1/servers 503",
            "POST /v1/servers 503",
            "POST /v1/servers 201"
        ]
    );

    // A 503 whose create the API had carried out: the retry meets uniqueness_error, and the
    // server of that name is adopted (it is what was asked) instead of failing.
    t.write("s4.yml", &t.read("s.yml").replace("web-1", "web-4"));
    fake.fault(
        r#"[{"status": 503, "code": "unavailable", "method": "POST", "times": 1, "after": true}]"#,
    );
    let out = fake.run(&t, &["run", "s4.yml"]);
    out.assert_ok();
    assert_eq!(out.recap("localhost").changed, 1);
    let posts: Vec<String> = fake
        .writes()
        .into_iter()
        .filter(|w| w.starts_with("POST /v1/servers") && !w.contains("/actions/"))
        .collect();
    assert_eq!(
        posts[posts.len() - 2..],
        ["POST /v1/servers 503", "POST /v1/servers 409"]
    );
    assert_eq!(
        fake.run(&t, &["run", "s4.yml"]).recap("localhost").changed,
        0
    );

    // An action that ends in error fails the task, naming the server and the API's error.
    t.write("s2.yml", &t.read("s.yml").replace("web-1", "web-2"));
    fake.fault(r#"[{"action": "create_server", "code": "resource_unavailable", "message": "no capacity in nbg1"}]"#);
    let out = fake.run(&t, &["run", "s2.yml"]);
    out.assert_code(2);
    assert!(
        out.stdout
            .contains("server 'web-2': Hetzner API action create_server (")
            && out
                .stdout
                .contains("failed: resource_unavailable: no capacity in nbg1"),
        "{}",
        out.stdout
    );
    // Missing what a creation needs; a second run with the first server creates nothing.
    t.write(
        "s3.yml",
        "- hosts: localhost\n  gather_facts: no\n  tasks:\n    - hetzner_server: {name: web-3}\n",
    );
    let out = fake.run(&t, &["run", "s3.yml"]);
    out.assert_code(2);
    assert!(
        out.stdout
            .contains("'server_type' and 'image' are needed to create the server 'web-3'"),
        "{}",
        out.stdout
    );
    let before = fake.writes().len();
    assert_eq!(
        fake.run(&t, &["run", "s.yml"]).recap("localhost").changed,
        0
    );
    assert_eq!(fake.writes().len(), before, "a second run wrote");
}

#[test]
fn firewall_rules_placement_group_and_servers_created_with_them() {
    let fake = Fake::start();
    let t = Lab::new();
    let play = |port: u32| {
        format!(
            r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - hetzner.hcloud.firewall:
        name: k8s-api
        rules:
          - {{direction: in, protocol: tcp, port: {port}, source_ips: [0.0.0.0/0, "::/0"], description: kube-apiserver}}
          - {{direction: in, protocol: icmp, source_ips: [0.0.0.0/0]}}
        apply_to_label_selectors: [role=control-plane]
    - hetzner.hcloud.placement_group: {{name: cp-spread, type: spread}}
    - hetzner_server:
        name: cp-1
        server_type: cx22
        image: debian-12
        firewalls: [k8s-api]
        placement_group: cp-spread
        labels: {{role: control-plane}}
      register: s
    - debug: var=s.hcloud_server.placement_group.name
"#
        )
    };
    t.write("f.yml", &play(6443));
    let out = fake.run(&t, &["run", "f.yml", "--check", "--diff"]);
    out.assert_ok();
    assert_eq!(out.recap("localhost").changed, 3, "{}", out.stdout);
    assert!(
        out.stdout.contains("+rules: [\"in icmp - from"),
        "{}",
        out.stdout
    );
    assert_eq!(
        fake.writes(),
        Vec::<String>::new(),
        "check mode wrote to the API"
    );

    let out = fake.run(&t, &["run", "f.yml"]);
    assert_eq!(out.recap("localhost"), recap(4, 3, 0, 0), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("\"s.hcloud_server.placement_group.name\": \"cp-spread\""),
        "{}",
        out.stdout
    );
    assert_eq!(
        fake.run(&t, &["run", "f.yml"]).recap("localhost").changed,
        0
    );

    // Another port: the rules are set again, nothing else moves.
    t.write("f.yml", &play(16443));
    let out = fake.run(&t, &["run", "f.yml", "--diff"]);
    assert_eq!(out.recap("localhost").changed, 1, "{}", out.stdout);
    assert!(
        out.stdout
            .contains("-rules: [\"in icmp - from [\\\"0.0.0.0/0\\\"] to []\",\"in tcp 6443 from")
            && out
                .stdout
                .contains("\"in tcp 16443 from [\\\"0.0.0.0/0\\\",\\\"::/0\\\"] to []\"]"),
        "{}",
        out.stdout
    );
    assert!(fake
        .writes()
        .last()
        .unwrap()
        .ends_with("/actions/set_rules 201"));

    // A tcp rule without a port: the API's error, naming the field.
    t.write("bad.yml", "- hosts: localhost\n  gather_facts: no\n  tasks:\n    - hetzner_firewall: {name: bad, rules: [{direction: in, protocol: tcp}]}\n");
    let out = fake.run(&t, &["run", "bad.yml"]);
    out.assert_code(2);
    assert!(
        out.stdout
            .contains("invalid_input: port is required for tcp and udp rules (fields: rules)"),
        "{}",
        out.stdout
    );

    // Removing a firewall that is in use takes it off its resources first.
    t.write("rm.yml", "- hosts: localhost\n  gather_facts: no\n  tasks:\n    - hetzner_firewall: {name: k8s-api, state: absent}\n");
    assert_eq!(
        fake.run(&t, &["run", "rm.yml"]).recap("localhost").changed,
        1
    );
    let w = fake.writes();
    assert!(
        w[w.len() - 2].ends_with("/actions/remove_from_resources 201"),
        "{w:?}"
    );
    assert!(w[w.len() - 1].starts_with("DELETE /v1/firewalls/"), "{w:?}");
}

#[test]
fn inventory_source_lists_servers_with_groups_from_labels() {
    let fake = Fake::start();
    let t = Lab::new();
    t.write(
        "mk.yml",
        r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - hetzner_network: {name: k8s, ip_range: 10.0.0.0/16, subnets: [{ip_range: 10.0.1.0/24}]}
    - hetzner_server:
        name: "{{ item.n }}"
        server_type: cx22
        image: debian-12
        location: "{{ item.l }}"
        networks: [k8s]
        labels: {cluster: k8s, role: "{{ item.r }}"}
      loop: [{n: cp-1, r: control-plane, l: fsn1}, {n: w-1, r: worker, l: nbg1}]
    - hetzner_server: {name: other, server_type: cx22, image: debian-12, labels: {cluster: other}}
"#,
    );
    fake.run(&t, &["run", "mk.yml"]).assert_ok();
    t.write(
        "hcloud.yml",
        "plugin: hetzner.hcloud.hcloud\nlabel_selector: cluster=k8s\nconnect_with: private_ipv4\nnetwork: k8s\n\
         keyed_groups:\n  - {key: labels.role, prefix: role}\n  - {key: location, prefix: hcloud_location}\n",
    );
    let out = fake.run(&t, &["inventory", "-i", "hcloud.yml", "--graph"]);
    out.assert_ok();
    for want in [
        "|--@hcloud:\n  |  |--cp-1\n  |  |--w-1",
        "|--@role_control_plane:\n  |  |--cp-1",
        "|--@hcloud_location_nbg1:\n  |  |--w-1",
    ] {
        assert!(out.stdout.contains(want), "{want}\n{}", out.stdout);
    }
    assert!(
        !out.stdout.contains("other"),
        "the label selector was not applied:\n{}",
        out.stdout
    );
    let out = fake.run(&t, &["inventory", "-i", "hcloud.yml", "--host", "w-1"]);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        (v["ansible_host"].as_str(), v["hcloud_location"].as_str()),
        (Some("10.0.1.3"), Some("nbg1"))
    );
    assert_eq!(v["hcloud_labels"]["role"], "worker");

    // A misspelt option, an unknown plugin, a wrong token: named, with the fix; nothing runs.
    t.write("bad.yml", "plugin: hetzner\nlabel_selectr: cluster=k8s\n");
    fake.run(&t, &["inventory", "-i", "bad.yml", "--list"])
        .assert_code(5)
        .assert_error(&[
            "unknown option 'label_selectr' for the hetzner inventory",
            "bad.yml:2:1",
            "did you mean 'label_selector'?",
        ]);
    t.write("aws.yml", "plugin: amazon.aws.aws_ec2\n");
    fake.run(&t, &["inventory", "-i", "aws.yml", "--list"])
        .assert_code(5)
        .assert_error(&["inventory plugin 'amazon.aws.aws_ec2' is not supported"]);
    fake.run_token(&t, &["inventory", "-i", "hcloud.yml", "--list"], "wrong")
        .assert_code(5)
        .assert_error(&[
            "hcloud.yml: cannot list the Hetzner Cloud servers",
            "unauthorized",
        ]);
}

#[test]
fn load_balancer_for_the_kubernetes_api() {
    let fake = Fake::start();
    let t = Lab::new();
    let play = |services: &str| {
        format!(
            r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - hetzner_network: {{name: k8s, ip_range: 10.0.0.0/16, subnets: [{{ip_range: 10.0.1.0/24}}]}}
    - hetzner.hcloud.load_balancer:
        name: k8s-api
        load_balancer_type: lb11
        location: fsn1
        network: k8s
        services: {services}
        targets: [{{label_selector: role=control-plane}}]
      register: lb
    - debug: var=lb.hcloud_load_balancer.private_ipv4
"#
        )
    };
    t.write("lb.yml", &play("[{protocol: tcp, listen_port: 6443}]"));
    let out = fake.run(&t, &["run", "lb.yml", "--check", "--diff"]);
    out.assert_ok();
    assert!(
        out.stdout.contains("+services: [\"tcp 6443 -> 6443\"]"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("+targets: [\"label_selector role=control-plane\"]"),
        "{}",
        out.stdout
    );
    assert_eq!(
        fake.writes(),
        Vec::<String>::new(),
        "check mode wrote to the API"
    );

    let out = fake.run(&t, &["run", "lb.yml"]);
    assert_eq!(out.recap("localhost"), recap(3, 2, 0, 0), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("\"lb.hcloud_load_balancer.private_ipv4\": \"10.0.1.200\""),
        "{}",
        out.stdout
    );
    assert_eq!(
        fake.run(&t, &["run", "lb.yml"]).recap("localhost").changed,
        0
    );

    // A second service and a changed one: actions on the same load balancer.
    t.write("lb.yml", &play("[{protocol: tcp, listen_port: 6443, destination_port: 16443}, {protocol: tcp, listen_port: 9345}]"));
    assert_eq!(
        fake.run(&t, &["run", "lb.yml"]).recap("localhost").changed,
        1
    );
    let w = fake.writes();
    assert!(
        w.iter().any(|l| l.ends_with("/actions/update_service 201")),
        "{w:?}"
    );
    assert!(
        w.iter().any(|l| l.ends_with("/actions/add_service 201")),
        "{w:?}"
    );
    assert_eq!(
        w.iter()
            .filter(|l| l.starts_with("POST /v1/load_balancers "))
            .count(),
        1,
        "{w:?}"
    );
    assert_eq!(
        fake.run(&t, &["run", "lb.yml"]).recap("localhost").changed,
        0
    );
}

#[test]
fn server_type_change_needs_force_and_rebuild_reinstalls() {
    let fake = Fake::start();
    let t = Lab::new();
    let play = |extra: &str| {
        format!("- hosts: localhost\n  gather_facts: no\n  tasks:\n    - hetzner_server: {{name: db-1, image: debian-12, {extra}}}\n      register: s\n    - debug: var=s.hcloud_server.server_type\n")
    };
    t.write("s.yml", &play("server_type: cx22"));
    fake.run(&t, &["run", "s.yml"]).assert_ok();

    // A bigger type on a running server: refused without force, with the way out.
    t.write("s.yml", &play("server_type: cx32"));
    let out = fake.run(&t, &["run", "s.yml"]);
    out.assert_code(2);
    assert!(
        out.stdout
            .contains("changing 'db-1' from cx22 to cx32 needs the server off: add force: yes"),
        "{}",
        out.stdout
    );
    t.write(
        "s.yml",
        &play("server_type: cx32, force: yes, upgrade_disk: yes"),
    );
    let out = fake.run(&t, &["run", "s.yml", "--diff"]);
    assert_eq!(out.recap("localhost").changed, 1, "{}", out.stdout);
    assert!(
        out.stdout
            .contains("\"s.hcloud_server.server_type\": \"cx32\""),
        "{}",
        out.stdout
    );
    let actions: Vec<String> = fake
        .writes()
        .into_iter()
        .filter(|w| w.contains("/actions/"))
        .map(|w| w.split('/').nth(5).unwrap_or("").to_string())
        .collect();
    assert_eq!(actions, ["poweroff 201", "change_type 201", "poweron 201"]);
    assert_eq!(
        fake.run(&t, &["run", "s.yml"]).recap("localhost").changed,
        0
    );

    // rebuild always reinstalls (and needs the image); a different image alone is only reported.
    t.write("s.yml", &play("server_type: cx32, state: rebuild"));
    assert_eq!(
        fake.run(&t, &["run", "s.yml"]).recap("localhost").changed,
        1
    );
    assert!(fake
        .writes()
        .last()
        .unwrap()
        .ends_with("/actions/rebuild 201"));
    t.write(
        "s.yml",
        &play("server_type: cx32").replace("debian-12", "ubuntu-24.04"),
    );
    let out = fake.run(&t, &["run", "s.yml", "-v"]);
    assert_eq!(out.recap("localhost").changed, 0, "{}", out.stdout);
    assert!(
        out.stdout.contains(
            "image is debian-12 (not ubuntu-24.04): it is set only when the server is created"
        ),
        "{}",
        out.stdout
    );
}

/// `--check` on an empty project: each resource is planned as created, and its registered
/// result carries what only the API can tell as "(known after apply)", so the natural
/// playbook (`item.hcloud_server.ipv4_address is defined`, no `default`) plans through.
#[test]
fn check_on_an_empty_project_registers_what_is_known_after_apply() {
    let fake = Fake::start();
    let t = Lab::new();
    t.write(
        "plan.yml",
        r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - hetzner_network: {name: k8s, ip_range: 10.0.0.0/16, subnets: [{ip_range: 10.0.1.0/24}]}
    - hetzner_ssh_key: {name: ops, public_key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHq7kqz4XIRZ2GJ3Q9m2cH9kZ2b5Z0d8m0bCkq4J0o3T ops"}
      register: key
    - hetzner_server:
        name: "{{ item }}"
        server_type: cx22
        image: debian-12
        location: fsn1
        networks: [k8s]
        labels: {role: control-plane}
      loop: [cp-1, cp-2]
      register: servers
    - hetzner_load_balancer:
        name: k8s-api
        load_balancer_type: lb11
        location: fsn1
        network: k8s
        services: [{protocol: tcp, listen_port: 6443}]
        targets: [{label_selector: role=control-plane}]
      register: lb
    - debug:
        msg: "{{ item.hcloud_server.name }} at {{ item.hcloud_server.ipv4_address }} ({{ item.hcloud_server.private_networks_info[0].ip }}), {{ item.hcloud_server.server_type }} in {{ item.hcloud_server.location }}, role {{ item.hcloud_server.labels.role }}, id {{ item.hcloud_server.id }}"
      loop: "{{ servers.results }}"
      when: item.hcloud_server.ipv4_address is defined
    - debug: var=lb.hcloud_load_balancer.private_ipv4
    - debug: var=key.hcloud_ssh_key.fingerprint
"#,
    );
    let out = fake.run(&t, &["run", "plan.yml", "--check", "--diff"]);
    out.assert_ok();
    // network, key, the servers, the load balancer: changed; the debugs ran, none skipped.
    assert_eq!(out.recap("localhost"), recap(7, 4, 0, 0), "{}", out.stdout);
    for want in [
        "cp-1 at (known after apply) ((known after apply)), cx22 in fsn1, role control-plane, id (known after apply)",
        "cp-2 at (known after apply)",
        "\"lb.hcloud_load_balancer.private_ipv4\": \"(known after apply)\"",
        // The fingerprint follows from the key itself.
        "\"key.hcloud_ssh_key.fingerprint\": \"8f:57:f7:5f:a1:12:86:a7:fb:93:3c:1c:e9:3e:ae:d3\"",
        // The diff of a creation shows what only the API will tell.
        "+ipv4_address: (known after apply)\n",
    ] {
        assert!(out.stdout.contains(want), "{want}\n{}", out.stdout);
    }
    let log = fake.log();
    assert!(!log.is_empty());
    assert!(
        log.iter().all(|l| l.starts_with("GET ")),
        "check mode wrote to the API: {log:?}"
    );

    // Once applied, the same names hold the API's values.
    let out = fake.run(&t, &["run", "plan.yml"]);
    out.assert_ok();
    assert!(!out.stdout.contains("known after apply"), "{}", out.stdout);
}

/// An OpenSSH ed25519 public key of its own for each `i`.
fn ed25519_key(i: u8) -> String {
    use base64::Engine;
    let mut blob = b"\0\0\0\x0bssh-ed25519\0\0\0 ".to_vec();
    blob.extend([i; 32]);
    format!(
        "ssh-ed25519 {} k{i}",
        base64::engine::general_purpose::STANDARD.encode(blob)
    )
}

#[test]
fn many_hosts_at_once_stay_within_the_rate_limit() {
    // A bucket of 6 requests; 3 hosts create 2 keys each at once (2 requests per key).
    let fake = Fake::start_limited(6);
    let t = Lab::new();
    t.write(
        "hosts",
        "[nodes]\nh1\nh2\nh3\n\n[nodes:vars]\nansible_connection=local\n",
    );
    let keys: Vec<String> = (1..=6).map(|i| format!("\"{}\"", ed25519_key(i))).collect();
    t.write(
        "k.yml",
        &format!(
            "- hosts: nodes\n  gather_facts: no\n  vars:\n    keys: [{}]\n  tasks:\n    - hetzner_ssh_key:\n        \
             name: \"{{{{ inventory_hostname }}}}-{{{{ item }}}}\"\n        \
             public_key: \"{{{{ keys[(inventory_hostname[1:] | int - 1) * 2 + item] }}}}\"\n      loop: [0, 1]\n",
            keys.join(", ")
        ),
    );
    let out = fake.run(&t, &["run", "k.yml", "-i", "hosts"]);
    out.assert_ok();
    for h in ["h1", "h2", "h3"] {
        assert_eq!(out.recap(h).changed, 1, "{}", out.stdout);
    }
    let log = fake.log();
    assert_eq!(
        log.iter()
            .filter(|l| l.starts_with("POST /v1/ssh_keys 201"))
            .count(),
        6,
        "{log:?}"
    );
    assert!(
        !log.iter().any(|l| l.ends_with(" 429")),
        "the limit was exceeded: {log:?}"
    );
}

#[test]
fn many_servers_created_at_once_within_the_rate_limit_and_never_twice() {
    // Six servers at once, one per inventory host (delegated to the controller, as Ansible
    // users do it), against a bucket of 8 requests.
    let fake = Fake::start_limited(8);
    let t = Lab::new();
    t.write("hosts", "[nodes]\nnode-[1:6]\n");
    t.write(
        "s.yml",
        "- hosts: nodes\n  gather_facts: no\n  tasks:\n    - hetzner_server:\n        name: \"{{ inventory_hostname }}\"\n        \
         server_type: cx22\n        image: debian-12\n      delegate_to: localhost\n",
    );
    let out = fake.run(&t, &["run", "s.yml", "-i", "hosts"]);
    out.assert_ok();
    for i in 1..=6 {
        assert_eq!(out.recap(&format!("node-{i}")).changed, 1, "{}", out.stdout);
    }
    let log = fake.log();
    assert!(
        !log.iter().any(|l| l.ends_with(" 429")),
        "the limit was exceeded: {log:?}"
    );
    assert_eq!(
        log.iter()
            .filter(|l| l.starts_with("POST /v1/servers 201"))
            .count(),
        6,
        "{log:?}"
    );
    // Again, all at once: nothing is created twice.
    let out = fake.run(&t, &["run", "s.yml", "-i", "hosts"]);
    assert_eq!(out.recap("node-3").changed, 0, "{}", out.stdout);
    assert_eq!(
        fake.log()
            .iter()
            .filter(|l| l.starts_with("POST /v1/servers"))
            .count(),
        6
    );
}
