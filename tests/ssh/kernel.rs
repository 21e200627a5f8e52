//! sysctl, modprobe, mount, swap and hostname on a VM host with a real kernel (the lab's
//! containers see /proc/sys read-only and cannot load modules or mount).

use std::sync::{Mutex, MutexGuard};

use crate::lab::{on_vm, vm_exec};
use crate::run;
use crate::support::recap;

/// The tests that rewrite the shared VM's /etc/fstab take turns: two runs rewriting one file
/// at once would each write back what they read.
fn fstab_turn() -> MutexGuard<'static, ()> {
    static FSTAB: Mutex<()> = Mutex::new(());
    FSTAB.lock().unwrap_or_else(|e| e.into_inner())
}

#[test]
fn kernel_modules_and_sysctl_with_check_mode_drift_and_removal() {
    let (t, h) = on_vm();
    t.write(
        "k.yml",
        r#"
- hosts: lab
  gather_facts: no
  become: yes
  tasks:
    - community.general.modprobe: {name: br_netfilter, persistent: present}
    - modprobe: {name: dummy, params: numdummies=2, persistent: present}
    # Needs br_netfilter: in check mode it is not loaded yet, which is reported, not failed.
    - ansible.posix.sysctl:
        name: net.bridge.bridge-nf-call-iptables
        value: 1
        sysctl_file: /etc/sysctl.d/90-timonel-test.conf
    - sysctl: {name: net.ipv4.ip_forward, value: yes, sysctl_file: /etc/sysctl.d/90-timonel-test.conf}
"#,
    );
    let state = || {
        vm_exec(
            &h,
            "grep -cE '^(br_netfilter|dummy) ' /proc/modules; sysctl -n net.ipv4.ip_forward; \
             cat /etc/sysctl.d/90-timonel-test.conf /etc/modules-load.d/br_netfilter.conf \
             /etc/modules-load.d/dummy.conf /etc/modprobe.d/dummy.conf 2>&1 | sed 's/^cat: //'; \
             ls /sys/class/net | grep -c '^dummy'",
        )
    };
    let before = state();
    assert!(
        before.starts_with("0\n0\n") && before.ends_with("\n0\n"),
        "{before}"
    );

    let out = run(&t, &["run", "k.yml", "-i", "hosts", "--check", "--diff"]);
    assert_eq!(out.recap(&h), recap(4, 4, 0, 0), "{}", out.stdout);
    assert!(
        out.stdout.contains("+net.ipv4.ip_forward=1"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("+br_netfilter"), "{}", out.stdout);
    assert_eq!(state(), before, "check mode changed the host");

    let out = run(&t, &["run", "k.yml", "-i", "hosts"]);
    assert_eq!(out.recap(&h), recap(4, 4, 0, 0), "{}", out.stdout);
    assert_eq!(
        state(),
        "2\n1\nnet.bridge.bridge-nf-call-iptables=1\nnet.ipv4.ip_forward=1\nbr_netfilter\ndummy\n\
         options dummy numdummies=2\n2\n"
    );
    assert_eq!(
        vm_exec(&h, "sysctl -n net.bridge.bridge-nf-call-iptables"),
        "1\n"
    );
    assert_eq!(
        run(&t, &["run", "k.yml", "-i", "hosts"]).recap(&h).changed,
        0
    );

    // The running value drifts: the file is right, the kernel is put back.
    vm_exec(&h, "sysctl -qw net.ipv4.ip_forward=0");
    let out = run(&t, &["run", "k.yml", "-i", "hosts", "--diff"]);
    assert_eq!(out.recap(&h).changed, 1, "{}", out.stdout);
    assert!(
        out.stdout.contains("running kernel: net.ipv4.ip_forward"),
        "{}",
        out.stdout
    );
    assert_eq!(vm_exec(&h, "sysctl -n net.ipv4.ip_forward"), "1\n");

    t.write(
        "rm.yml",
        r#"
- hosts: lab
  gather_facts: no
  become: yes
  tasks:
    - modprobe: {name: dummy, state: absent, persistent: absent}
    - sysctl: {name: net.ipv4.ip_forward, state: absent, sysctl_file: /etc/sysctl.d/90-timonel-test.conf}
"#,
    );
    let out = run(&t, &["run", "rm.yml", "-i", "hosts"]);
    assert_eq!(out.recap(&h), recap(2, 2, 0, 0), "{}", out.stdout);
    assert_eq!(
        vm_exec(
            &h,
            "grep -c '^dummy ' /proc/modules; ls /etc/modprobe.d/dummy.conf /etc/modules-load.d/dummy.conf 2>&1 | wc -l; \
             cat /etc/sysctl.d/90-timonel-test.conf"
        ),
        "0\n2\nnet.bridge.bridge-nf-call-iptables=1\n"
    );
    assert!(vm_exec(&h, "ls /etc/modprobe.d/dummy.conf 2>&1").contains("No such file"));
    assert_eq!(
        run(&t, &["run", "rm.yml", "-i", "hosts"]).recap(&h).changed,
        0
    );
}

#[test]
fn bad_kernel_arguments_fail_clearly_and_leave_nothing_behind() {
    let (t, h) = on_vm();
    t.write(
        "bad.yml",
        r#"
- hosts: lab
  gather_facts: no
  become: yes
  tasks:
    - modprobe: {name: no_such_module_xyz, persistent: present}
      ignore_errors: yes
    - sysctl: {name: net.nonexistent.key, value: 1, sysctl_file: /etc/sysctl.d/91-timonel-bad.conf}
      ignore_errors: yes
    - hostname: {name: web_1}
      ignore_errors: yes
    - mount: {path: /mnt/timonel-bad, src: tmpfs, state: mounted}
      ignore_errors: yes
"#,
    );
    let out = run(&t, &["run", "bad.yml", "-i", "hosts"]);
    out.assert_ok();
    assert_eq!(out.recap(&h).ignored, 4, "{}", out.stdout);
    for msg in [
        "kernel module 'no_such_module_xyz' not found for the running kernel",
        "sysctl key 'net.nonexistent.key' does not exist in the running kernel (no /proc/sys/net/nonexistent/key)",
        "invalid hostname 'web_1': '_' is not allowed",
        "mount /mnt/timonel-bad: state=mounted needs both 'src' and 'fstype'",
    ] {
        assert!(out.stdout.contains(msg), "{msg}\n{}", out.stdout);
    }
    assert_eq!(
        vm_exec(
            &h,
            "ls /etc/modules-load.d/no_such_module_xyz.conf /etc/sysctl.d/91-timonel-bad.conf /mnt/timonel-bad 2>/dev/null; \
             grep -c timonel-bad /etc/fstab"
        ),
        "0\n",
        "a failed task left files behind"
    );

    // A misspelt argument is caught before anything runs, with the fix.
    t.write(
        "typo.yml",
        "- hosts: lab\n  tasks:\n    - sysctl: {name: vm.swappiness, value: 10, sysctl_fiel: /etc/sysctl.d/x.conf}\n",
    );
    run(&t, &["run", "typo.yml", "-i", "hosts"])
        .assert_code(5)
        .assert_error(&["typo.yml:3:", "sysctl_fiel", "did you mean 'sysctl_file'?"]);
}

#[test]
fn tmpfs_mount_remount_and_removal() {
    let _turn = fstab_turn();
    let (t, h) = on_vm();
    let play = |opts: &str, state: &str| {
        format!(
            "- hosts: lab\n  gather_facts: no\n  become: yes\n  tasks:\n    - ansible.posix.mount:\n        \
             path: /mnt/timonel-data\n        src: tmpfs\n        fstype: tmpfs\n        opts: {opts}\n        state: {state}\n"
        )
    };
    let mounted = || {
        vm_exec(
            &h,
            "findmnt -n -o FSTYPE,OPTIONS /mnt/timonel-data | grep -o '^tmpfs\\|size=[0-9]*k' | tr '\\n' ' '; \
             grep -c timonel-data /etc/fstab",
        )
    };
    assert_eq!(mounted(), "0\n");
    t.write("m.yml", &play("size=16m", "mounted"));
    let out = run(&t, &["run", "m.yml", "-i", "hosts", "--check", "--diff"]);
    assert_eq!(out.recap(&h).changed, 1, "{}", out.stdout);
    assert!(
        out.stdout
            .contains("+tmpfs /mnt/timonel-data tmpfs size=16m 0 0"),
        "{}",
        out.stdout
    );
    assert_eq!(mounted(), "0\n", "check mode mounted or wrote fstab");

    assert_eq!(
        run(&t, &["run", "m.yml", "-i", "hosts"]).recap(&h),
        recap(1, 1, 0, 0)
    );
    assert_eq!(mounted(), "tmpfs size=16384k 1\n");
    assert_eq!(
        run(&t, &["run", "m.yml", "-i", "hosts"]).recap(&h).changed,
        0
    );

    // New options: fstab rewritten and the mount remounted with them.
    t.write("m.yml", &play("size=32m", "mounted"));
    assert_eq!(
        run(&t, &["run", "m.yml", "-i", "hosts"]).recap(&h).changed,
        1
    );
    assert_eq!(mounted(), "tmpfs size=32768k 1\n");
    assert_eq!(
        vm_exec(&h, "grep timonel-data /etc/fstab"),
        "tmpfs /mnt/timonel-data tmpfs size=32m 0 0\n"
    );

    t.write("m.yml", &play("size=32m", "absent"));
    assert_eq!(
        run(&t, &["run", "m.yml", "-i", "hosts"]).recap(&h).changed,
        1
    );
    assert_eq!(mounted(), "0\n");
    assert_eq!(
        vm_exec(&h, "test -e /mnt/timonel-data || echo gone"),
        "gone\n"
    );
    assert_eq!(
        run(&t, &["run", "m.yml", "-i", "hosts"]).recap(&h).changed,
        0
    );
}

#[test]
fn swap_turned_off_for_good_and_back_on() {
    let _turn = fstab_turn();
    let (t, h) = on_vm();
    // A server as cloud images make them: a swap file, active and in fstab.
    vm_exec(
        &h,
        "fallocate -l 32M /swap-timonel && chmod 600 /swap-timonel && mkswap /swap-timonel >/dev/null && \
         swapon /swap-timonel && echo '/swap-timonel none swap sw 0 0' >> /etc/fstab",
    );
    let swap = || {
        vm_exec(
            &h,
            "tail -n +2 /proc/swaps | cut -d' ' -f1; grep -c swap-timonel /etc/fstab",
        )
    };
    assert_eq!(swap(), "/swap-timonel\n1\n");
    t.write(
        "off.yml",
        r#"
- hosts: lab
  become: yes
  tasks:
    - debug: {var: ansible_swaptotal_mb}
    - mount: {path: none, fstype: swap, state: absent}
"#,
    );
    let out = run(&t, &["run", "off.yml", "-i", "hosts", "--check", "--diff"]);
    assert_eq!(out.recap(&h).changed, 1, "{}", out.stdout);
    assert!(
        out.stdout.contains("-/swap-timonel none swap sw 0 0"),
        "{}",
        out.stdout
    );
    assert_eq!(swap(), "/swap-timonel\n1\n", "check mode touched swap");

    let out = run(&t, &["run", "off.yml", "-i", "hosts"]);
    assert_eq!(out.recap(&h).changed, 1, "{}", out.stdout);
    assert!(
        out.stdout.contains("\"ansible_swaptotal_mb\": 31"),
        "{}",
        out.stdout
    );
    assert_eq!(swap(), "0\n");
    let out = run(&t, &["run", "off.yml", "-i", "hosts"]);
    assert_eq!(out.recap(&h).changed, 0, "{}", out.stdout);
    assert!(
        out.stdout.contains("\"ansible_swaptotal_mb\": 0"),
        "{}",
        out.stdout
    );

    t.write(
        "on.yml",
        "- hosts: lab\n  gather_facts: no\n  become: yes\n  tasks:\n    - mount: {path: none, src: /swap-timonel, fstype: swap, opts: sw, state: mounted}\n",
    );
    assert_eq!(
        run(&t, &["run", "on.yml", "-i", "hosts"]).recap(&h).changed,
        1
    );
    assert_eq!(swap(), "/swap-timonel\n1\n");
    assert_eq!(
        run(&t, &["run", "on.yml", "-i", "hosts"]).recap(&h).changed,
        0
    );
    run(&t, &["run", "off.yml", "-i", "hosts"]).assert_ok();
    vm_exec(&h, "rm -f /swap-timonel");
}

#[test]
fn hostname_now_and_at_boot() {
    let (t, h) = on_vm();
    t.write(
        "h.yml",
        r#"
- hosts: lab
  gather_facts: no
  become: yes
  tasks:
    - hostname: {name: timonel-node-1}
    - debug: {var: ansible_hostname}
"#,
    );
    let names = || vm_exec(&h, "hostname; cat /etc/hostname");
    let before = names();
    let out = run(&t, &["run", "h.yml", "-i", "hosts", "--check", "--diff"]);
    assert_eq!(out.recap(&h).changed, 1, "{}", out.stdout);
    assert!(out.stdout.contains("+timonel-node-1"), "{}", out.stdout);
    assert_eq!(names(), before);
    let out = run(&t, &["run", "h.yml", "-i", "hosts"]);
    assert_eq!(out.recap(&h), recap(2, 1, 0, 0), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("\"ansible_hostname\": \"timonel-node-1\""),
        "{}",
        out.stdout
    );
    assert_eq!(names(), "timonel-node-1\ntimonel-node-1\n");
    assert_eq!(
        run(&t, &["run", "h.yml", "-i", "hosts"]).recap(&h).changed,
        0
    );
}
