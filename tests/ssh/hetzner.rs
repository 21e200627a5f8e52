//! A cluster's servers made on the fake Hetzner API (each a lab container at its own public
//! IPv4, port 22, root with the project's key), handed to the next play with add_host and
//! configured over SSH in the same run.

use crate::lab::{exec, key};
use crate::support::Lab;

#[path = "../hetzner/fake.rs"]
#[allow(dead_code)]
mod fake;

use fake::Fake;

#[test]
fn servers_created_then_configured_in_the_same_run() {
    let fake = Fake::start_with(&["--lab"]);
    let t = Lab::new();
    let home = t.path("home").display().to_string();
    std::fs::create_dir_all(&home).unwrap();
    t.write(
        "site.yml",
        &format!(
            r#"
- hosts: localhost
  gather_facts: no
  vars:
    key: {key}
  tasks:
    - hetzner.hcloud.ssh_key: {{name: ops, public_key: "{{{{ lookup('file', key + '.pub') }}}}"}}
    - hetzner.hcloud.network: {{name: tmn, ip_range: 10.0.0.0/16, subnets: [{{ip_range: 10.0.1.0/24}}]}}
    - hetzner.hcloud.firewall:
        name: tmn-ssh
        rules: [{{direction: in, protocol: tcp, port: 22, source_ips: [0.0.0.0/0]}}]
        apply_to_label_selectors: [cluster=tmn]
    - hetzner.hcloud.server:
        name: "{{{{ item }}}}"
        server_type: cx22
        image: debian-12
        location: fsn1
        ssh_keys: [ops]
        networks: [tmn]
        labels: {{cluster: tmn}}
      loop: [tmn-cp-1, tmn-worker-1, tmn-worker-2]
      register: servers
    - add_host:
        name: "{{{{ item.hcloud_server.name }}}}"
        ansible_host: "{{{{ item.hcloud_server.ipv4_address }}}}"
        ansible_user: root
        ansible_ssh_private_key_file: "{{{{ key }}}}"
        private_ip: "{{{{ item.hcloud_server.private_networks_info[0].ip }}}}"
        groups: cluster
      loop: "{{{{ servers.results }}}}"
      when: item.hcloud_server.ipv4_address is defined

- hosts: cluster
  gather_facts: no
  tasks:
    - wait_for_connection: {{timeout: 60}}
    - copy: {{content: "{{{{ inventory_hostname }}}} {{{{ ansible_host }}}} {{{{ private_ip }}}}\n", dest: /etc/timonel-node}}
"#,
            key = key()
        ),
    );
    let env = [("HOME", home.as_str())];
    // Check mode on a fresh project: the creations are reported, nothing is written.
    let out = fake.run_with(
        &t,
        &["run", "site.yml", "--check", "--diff"],
        fake::TOKEN,
        &env,
    );
    out.assert_ok();
    // Key, network, firewall, servers, and add_host handing on servers to be: the next
    // play's tasks are planned on them, never reaching them.
    assert_eq!(out.recap("localhost").changed, 5, "{}", out.stdout);
    for h in ["tmn-cp-1", "tmn-worker-1", "tmn-worker-2"] {
        let r = out.recap(h);
        assert_eq!((r.changed, r.unreachable), (2, 0), "{h}: {}", out.stdout);
    }
    assert!(
        out.stdout.contains("+name: \"tmn-worker-2\""),
        "{}",
        out.stdout
    );
    assert_eq!(
        fake.writes(),
        Vec::<String>::new(),
        "check mode wrote to the API"
    );

    let out = fake.run_with(&t, &["run", "site.yml"], fake::TOKEN, &env);
    out.assert_ok();
    for (i, h) in ["tmn-cp-1", "tmn-worker-1", "tmn-worker-2"]
        .iter()
        .enumerate()
    {
        assert_eq!(out.recap(h).changed, 1, "{}", out.stdout);
        // Public address: the fake's loopback one; private: from the network's subnet.
        let (ip, private) = (format!("127.0.0.{}", 101 + i), format!("10.0.1.{}", 2 + i));
        assert_eq!(
            exec(&format!("hcloud-{h}"), "cat /etc/timonel-node"),
            format!("{h} {ip} {private}\n")
        );
    }
    let servers: Vec<String> = fake
        .writes()
        .into_iter()
        .filter(|w| w.starts_with("POST /v1/servers"))
        .collect();
    assert_eq!(servers, ["POST /v1/servers 201"; 3]);

    // Again: nothing created, nothing changed on the servers (add_host counts, as in Ansible).
    let out = fake.run_with(&t, &["run", "site.yml"], fake::TOKEN, &env);
    out.assert_ok();
    assert_eq!(out.recap("localhost").changed, 1, "{}", out.stdout);
    assert_eq!(out.recap("tmn-worker-1").changed, 0, "{}", out.stdout);
    assert_eq!(
        fake.writes()
            .iter()
            .filter(|w| w.starts_with("POST /v1/servers"))
            .count(),
        3
    );

    // The same servers through the inventory source instead of add_host.
    t.write(
        "hcloud.yml",
        "plugin: hetzner\nlabel_selector: cluster=tmn\n",
    );
    t.write(
        "uptime.yml",
        "- hosts: hcloud\n  gather_facts: no\n  tasks:\n    - command: cat /etc/timonel-node\n      register: n\n    \
         - assert: {that: \"n.stdout.startswith(inventory_hostname + ' ' + hcloud_ipv4)\"}\n",
    );
    let key_var = format!("ansible_ssh_private_key_file={}", key());
    let out = fake.run_with(
        &t,
        &[
            "run",
            "uptime.yml",
            "-i",
            "hcloud.yml",
            "-u",
            "root",
            "-e",
            &key_var,
        ],
        fake::TOKEN,
        &env,
    );
    out.assert_ok();
    assert_eq!(out.recap("tmn-worker-2").ok, 2, "{}", out.stdout);

    // Stopped, then deleted: the containers go with them.
    t.write(
        "down.yml",
        "- hosts: localhost\n  gather_facts: no\n  tasks:\n    - hetzner_server: {name: tmn-worker-2, state: stopped}\n    \
         - hetzner_server: {name: '{{ item }}', state: absent}\n      loop: [tmn-cp-1, tmn-worker-1]\n",
    );
    let out = fake.run_with(&t, &["run", "down.yml"], fake::TOKEN, &env);
    assert_eq!(out.recap("localhost").changed, 2, "{}", out.stdout);
    assert_eq!(
        exec("hcloud-tmn-worker-2", "echo up"),
        "",
        "a stopped server still runs"
    );
    let out = fake.run_with(&t, &["run", "down.yml"], fake::TOKEN, &env);
    assert_eq!(out.recap("localhost").changed, 0, "{}", out.stdout);
}

/// playbooks/cluster_infra.yml itself, on the fake: the whole infrastructure of an HA
/// cluster, the servers handed over and reached over SSH.
#[test]
fn cluster_infra_playbook_builds_and_reaches_the_cluster() {
    let fake = Fake::start_with(&["--lab", "--first-ipv4", "121"]);
    let t = Lab::new();
    let home = t.path("home").display().to_string();
    std::fs::create_dir_all(&home).unwrap();
    let env = [("HOME", home.as_str())];
    let playbook =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../playbooks/cluster_infra.yml");
    let playbook = playbook.display().to_string();
    let key_var = format!("ssh_key_file={}", key());
    let args = |extra: &[&'static str]| {
        let mut a = vec![
            "run",
            playbook.as_str(),
            "-e",
            key_var.as_str(),
            "-e",
            "cluster=tci",
            "-e",
            "control_plane_count=2",
            "-e",
            "worker_count=1",
        ];
        a.extend_from_slice(extra);
        a
    };
    let out = fake.run_with(&t, &args(&["--check"]), fake::TOKEN, &env);
    out.assert_ok();
    assert_eq!(
        fake.writes(),
        Vec::<String>::new(),
        "check mode wrote to the API"
    );

    let out = fake.run_with(&t, &args(&[]), fake::TOKEN, &env);
    out.assert_ok();
    // Key, network, firewall, placement group, servers, API load balancer, add_host.
    assert_eq!(out.recap("localhost").changed, 7, "{}", out.stdout);
    for h in ["tci-cp-1", "tci-cp-2", "tci-worker-1"] {
        assert_eq!(out.recap(h).ok, 1, "{}", out.stdout);
    }
    // The container is named for the fake; the machine, as on Hetzner, for the server.
    assert_eq!(exec("hcloud-tci-cp-2", "hostname"), "tci-cp-2\n");
    let creates = |log: &[String]| {
        log.iter()
            .filter(|w| {
                w.starts_with("POST /v1/") && !w.contains("/actions/") && w.ends_with(" 201")
            })
            .count()
    };
    // ssh key, network, firewall, placement group, 3 servers, load balancer.
    assert_eq!(creates(&fake.writes()), 8, "{:?}", fake.writes());

    let out = fake.run_with(&t, &args(&[]), fake::TOKEN, &env);
    out.assert_ok();
    assert_eq!(
        out.recap("localhost").changed,
        1,
        "only add_host counts again:\n{}",
        out.stdout
    );
    assert_eq!(creates(&fake.writes()), 8, "a second run created something");
}
