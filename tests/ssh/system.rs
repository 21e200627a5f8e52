//! users, groups, dpkg selections and package facts on real Debian hosts.

use crate::lab::{exec, inventory, own};
use crate::run;
use crate::support::{recap, Lab};

#[test]
fn users_and_groups_with_check_mode_and_idempotence() {
    let t = Lab::new();
    let hosts = vec![own("t-users", 22261)];
    let h = &hosts[0].0;
    t.write("hosts", &inventory(&hosts, "tester"));
    t.write(
        "u.yml",
        r#"
- hosts: lab
  gather_facts: no
  become: yes
  tasks:
    - group: {name: deploy, gid: 2500}
    - group: {name: docker-users}
    - user:
        name: django
        uid: 2501
        group: deploy
        groups: [docker-users]
        shell: /bin/bash
        comment: Django app
"#,
    );
    let out = run(&t, &["run", "u.yml", "-i", "hosts", "--check", "--diff"]);
    out.assert_ok();
    assert_eq!(out.recap(h).changed, 3, "{}", out.stdout);
    assert_eq!(
        exec(h, "getent passwd django; getent group deploy"),
        "",
        "check mode created accounts"
    );
    let out = run(&t, &["run", "u.yml", "-i", "hosts"]);
    assert_eq!(out.recap(h), recap(3, 3, 0, 0), "{}", out.stdout);
    assert_eq!(
        exec(h, "getent passwd django"),
        "django:x:2501:2500:Django app:/home/django:/bin/bash\n"
    );
    assert_eq!(exec(h, "id -Gn django"), "deploy docker-users\n");
    assert_eq!(exec(h, "test -d /home/django && echo home"), "home\n");
    assert_eq!(
        run(&t, &["run", "u.yml", "-i", "hosts"]).recap(h).changed,
        0
    );
    t.write("rm.yml", "- hosts: lab\n  gather_facts: no\n  become: yes\n  tasks:\n    - user: {name: django, state: absent, remove: yes}\n    - group: {name: docker-users, state: absent}\n");
    run(&t, &["run", "rm.yml", "-i", "hosts"]).assert_ok();
    assert_eq!(
        exec(
            h,
            "getent passwd django; getent group docker-users; test -d /home/django && echo home"
        ),
        ""
    );
    assert_eq!(
        run(&t, &["run", "rm.yml", "-i", "hosts"]).recap(h).changed,
        0
    );
}

#[test]
fn hold_a_package_and_read_package_facts() {
    let t = Lab::new();
    let hosts = vec![own("t-hold", 22262)];
    let h = &hosts[0].0;
    t.write("hosts", &inventory(&hosts, "tester"));
    t.write(
        "p.yml",
        r#"
- hosts: lab
  gather_facts: no
  become: yes
  tasks:
    - dpkg_selections: {name: openssh-server, selection: hold}
    - package_facts:
    - assert:
        that:
          - "'openssh-server' in ansible_facts.packages"
          - ansible_facts.packages['sudo'][0].source == 'apt'
"#,
    );
    let out = run(&t, &["run", "p.yml", "-i", "hosts"]);
    out.assert_ok();
    assert_eq!(
        exec(h, "dpkg --get-selections openssh-server")
            .split_whitespace()
            .collect::<Vec<_>>(),
        ["openssh-server", "hold"]
    );
    assert_eq!(
        run(&t, &["run", "p.yml", "-i", "hosts"]).recap(h).changed,
        0
    );
}
