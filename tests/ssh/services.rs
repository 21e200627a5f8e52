//! service / systemd_service against real systemd (a VM host), and the error on a host
//! without it (a lab container).

use crate::lab::{inventory, on_vm, own, vm_exec};
use crate::run;
use crate::support::{recap, Lab};

// In /usr/lib, not /etc: systemctl mask puts its /dev/null link in /etc/systemd/system.
const UNIT: &str = "[Unit]\nDescription=timonel test sleeper\n[Service]\nExecStart=/bin/sleep infinity\n[Install]\nWantedBy=multi-user.target\n";

#[test]
fn systemd_units_started_enabled_stopped_masked_and_restarted() {
    let (t, h) = on_vm();
    t.write(
        "start.yml",
        &format!(
            r#"
- hosts: lab
  gather_facts: no
  become: yes
  tasks:
    - copy:
        dest: /usr/lib/systemd/system/timonel-sleep.service
        content: {UNIT:?}
    - systemd_service: {{name: timonel-sleep, state: started, enabled: yes, daemon_reload: yes}}
"#
        ),
    );
    let unit = || {
        vm_exec(
            &h,
            "systemctl is-active timonel-sleep; systemctl is-enabled timonel-sleep 2>&1 | tail -1",
        )
    };
    // Check mode on a fresh host: the unit file is not there yet, which is reported.
    let out = run(&t, &["run", "start.yml", "-i", "hosts", "--check"]);
    assert_eq!(out.recap(&h), recap(2, 2, 0, 0), "{}", out.stdout);
    assert_eq!(
        vm_exec(
            &h,
            "test -e /usr/lib/systemd/system/timonel-sleep.service || echo none"
        ),
        "none\n"
    );

    assert_eq!(
        run(&t, &["run", "start.yml", "-i", "hosts"]).recap(&h),
        recap(2, 2, 0, 0)
    );
    assert_eq!(unit(), "active\nenabled\n");
    assert_eq!(
        run(&t, &["run", "start.yml", "-i", "hosts"])
            .recap(&h)
            .changed,
        0
    );

    let play = |task: &str| {
        format!("- hosts: lab\n  gather_facts: no\n  become: yes\n  tasks:\n    - {task}\n")
    };
    t.write(
        "stop.yml",
        &play("service: name=timonel-sleep state=stopped enabled=no"),
    );
    let out = run(&t, &["run", "stop.yml", "-i", "hosts", "--check", "--diff"]);
    assert_eq!(out.recap(&h).changed, 1, "{}", out.stdout);
    assert!(
        out.stdout.contains("-state: active") && out.stdout.contains("+enabled: disabled"),
        "{}",
        out.stdout
    );
    assert_eq!(unit(), "active\nenabled\n", "check mode stopped the unit");
    assert_eq!(
        run(&t, &["run", "stop.yml", "-i", "hosts"])
            .recap(&h)
            .changed,
        1
    );
    assert_eq!(unit(), "inactive\ndisabled\n");
    assert_eq!(
        run(&t, &["run", "stop.yml", "-i", "hosts"])
            .recap(&h)
            .changed,
        0
    );

    // Masked: cannot be started until unmasked, and the error says how.
    t.write(
        "mask.yml",
        &play("ansible.builtin.systemd: {name: timonel-sleep, masked: yes}"),
    );
    assert_eq!(
        run(&t, &["run", "mask.yml", "-i", "hosts"])
            .recap(&h)
            .changed,
        1
    );
    assert_eq!(unit(), "inactive\nmasked\n");
    assert_eq!(
        run(&t, &["run", "mask.yml", "-i", "hosts"])
            .recap(&h)
            .changed,
        0
    );
    t.write(
        "start2.yml",
        &play("systemd_service: {name: timonel-sleep, state: started}"),
    );
    let out = run(&t, &["run", "start2.yml", "-i", "hosts"]);
    out.assert_code(2);
    assert!(
        out.stdout
            .contains("unit 'timonel-sleep.service' is masked")
            && out.stdout.contains("masked: false"),
        "{}",
        out.stdout
    );
    t.write(
        "unmask.yml",
        &play("systemd_service: {name: timonel-sleep, masked: no, state: started}"),
    );
    assert_eq!(
        run(&t, &["run", "unmask.yml", "-i", "hosts"])
            .recap(&h)
            .changed,
        1
    );
    assert_eq!(unit(), "active\ndisabled\n");

    // restarted always acts: a new main process.
    let pid = || vm_exec(&h, "systemctl show -p MainPID --value timonel-sleep");
    let first = pid();
    t.write(
        "restart.yml",
        &play("service: {name: timonel-sleep, state: restarted}"),
    );
    assert_eq!(
        run(&t, &["run", "restart.yml", "-i", "hosts"])
            .recap(&h)
            .changed,
        1
    );
    assert_ne!(pid(), first);
    assert_eq!(unit(), "active\ndisabled\n");
}

#[test]
fn service_errors_name_the_unit_and_show_its_log() {
    let (t, h) = on_vm();
    t.write(
        "bad.yml",
        r#"
- hosts: lab
  gather_facts: no
  become: yes
  tasks:
    - service: {name: no-such-unit, state: started}
      ignore_errors: yes
    - copy:
        dest: /etc/systemd/system/timonel-boom.service
        content: "[Service]\nType=oneshot\nExecStart=/bin/sh -c 'echo boom-from-the-unit >&2; exit 3'\n"
    - systemd_service: {name: timonel-boom, state: started, daemon_reload: yes}
"#,
    );
    let out = run(&t, &["run", "bad.yml", "-i", "hosts"]);
    out.assert_code(2);
    assert_eq!(out.recap(&h).ignored, 1, "{}", out.stdout);
    assert!(
        out.stdout
            .contains("unit 'no-such-unit.service' not found on this host"),
        "{}",
        out.stdout
    );
    // The failed start carries the unit's own last log lines.
    assert!(out.stdout.contains("boom-from-the-unit"), "{}", out.stdout);
}

#[test]
fn service_on_a_host_without_systemd_says_so() {
    let t = Lab::new();
    let hosts = vec![own("t-nosystemd", 22264)];
    let h = &hosts[0].0;
    t.write("hosts", &inventory(&hosts, "tester"));
    t.write(
        "s.yml",
        "- hosts: lab\n  gather_facts: no\n  become: yes\n  tasks:\n    - service: {name: ssh, state: started}\n",
    );
    let out = run(&t, &["run", "s.yml", "-i", "hosts"]);
    out.assert_code(2);
    assert_eq!(out.recap(h).failed, 1);
    assert!(
        out.stdout
            .contains("this host does not run systemd (PID 1 is 'lab-init'")
            && out.stdout.contains("service cannot manage 'ssh' here"),
        "{}",
        out.stdout
    );
}
