//! A node prepared the way the cluster playbooks prepare it (the k8s_prerequisites role, a
//! host name, an enabled service), rebooted by the reboot module, and found the same after
//! the reboot: the settings are persistent, not just applied.

use std::path::PathBuf;

use crate::lab::{inventory, vm, vm_exec};
use crate::run_env;
use crate::support::Lab;

#[test]
fn prepared_node_keeps_its_settings_across_a_reboot() {
    let t = Lab::new();
    let hosts = vec![vm("t-vm-reboot", 22311)];
    let h = hosts[0].0.clone();
    t.write("hosts", &inventory(&hosts, "tester"));
    let roles = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../roles");
    let roles = roles.display().to_string();
    let env = [("ANSIBLE_ROLES_PATH", roles.as_str())];
    // A server as cloud images make them: swap active and in fstab.
    vm_exec(
        &h,
        "fallocate -l 32M /swapfile && chmod 600 /swapfile && mkswap /swapfile >/dev/null && \
         swapon /swapfile && echo '/swapfile none swap sw 0 0' >> /etc/fstab",
    );
    t.write(
        "node.yml",
        r#"
- hosts: lab
  gather_facts: no
  become: yes
  roles:
    - k8s_prerequisites
  tasks:
    - hostname: {name: k8s-node-1}
    - copy:
        dest: /usr/lib/systemd/system/timonel-agent.service
        content: "[Service]\nExecStart=/bin/sleep infinity\n[Install]\nWantedBy=multi-user.target\n"
    - systemd: {name: timonel-agent, state: started, enabled: yes, daemon_reload: yes}
    - reboot:
      when: do_reboot | default(false) | bool
"#,
    );
    let node = || {
        vm_exec(
            &h,
            "grep -oE '^(overlay|br_netfilter) ' /proc/modules | sort | tr -d ' ' | tr '\\n' ' '; echo; \
             sysctl -n net.bridge.bridge-nf-call-iptables net.bridge.bridge-nf-call-ip6tables net.ipv4.ip_forward | tr '\\n' ' '; echo; \
             tail -n +2 /proc/swaps | wc -l; grep -c swap /etc/fstab; hostname; systemctl is-active timonel-agent",
        )
    };
    let boot_id = || vm_exec(&h, "cat /proc/sys/kernel/random/boot_id");
    let fresh = node();
    let first_boot = boot_id();

    // Check mode, reboot included, changes nothing.
    let out = run_env(
        &t,
        &[
            "run",
            "node.yml",
            "-i",
            "hosts",
            "--check",
            "-e",
            "do_reboot=yes",
        ],
        &env,
    );
    out.assert_ok();
    assert_eq!(node(), fresh);
    assert_eq!(boot_id(), first_boot, "check mode rebooted the host");

    let out = run_env(
        &t,
        &["run", "node.yml", "-i", "hosts", "-e", "do_reboot=yes"],
        &env,
    );
    out.assert_ok();
    let r = out.recap(&h);
    // As Ansible counts: a loop is one task (modules, sysctls, swap), then hostname, copy,
    // service, reboot.
    assert_eq!((r.changed, r.failed), (7, 0), "{}", out.stdout);
    assert!(
        out.stdout.contains("changed: [t-vm-reboot] => (item=none)"),
        "{}",
        out.stdout
    );
    assert_ne!(boot_id(), first_boot, "the host did not reboot");
    assert_eq!(
        node(),
        "br_netfilter overlay \n1 1 1 \n0\n0\nk8s-node-1\nactive\n",
        "settings lost across the reboot"
    );
    // After the reboot everything is as the playbook wants it.
    let out = run_env(&t, &["run", "node.yml", "-i", "hosts"], &env);
    assert_eq!(out.recap(&h).changed, 0, "{}", out.stdout);
}
