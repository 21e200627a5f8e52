//! apt against real apt and dpkg in the lab, with a repository the test builds and signs,
//! added with `signed-by` the way the Kubernetes repository is.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::lab::{exec, inventory, own};
use crate::run;
use crate::support::{recap, Lab};

fn sh(cmd: &str, dir: &Path) {
    let out = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{cmd}\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// tmn-base 1.0, tmn-app 1.0 and 1.1 (both need tmn-base), tmn-extra 1.0; signed Release.
fn repo() -> &'static PathBuf {
    static REPO: OnceLock<PathBuf> = OnceLock::new();
    REPO.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("timonel-apt-repo-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let repo = dir.join("repo");
        std::fs::create_dir_all(&repo).unwrap();
        for (name, version, depends) in [("tmn-base", "1.0", ""), ("tmn-app", "1.0", "tmn-base"), ("tmn-app", "1.1", "tmn-base"), ("tmn-extra", "1.0", "")] {
            let src = dir.join(format!("{name}-{version}"));
            std::fs::create_dir_all(src.join("DEBIAN")).unwrap();
            std::fs::create_dir_all(src.join("usr/share/tmn")).unwrap();
            let dep = if depends.is_empty() { String::new() } else { format!("Depends: {depends}\n") };
            std::fs::write(
                src.join("DEBIAN/control"),
                format!("Package: {name}\nVersion: {version}\nArchitecture: all\nMaintainer: timonel tests <tests@example.invalid>\n{dep}Description: timonel test package\n"),
            )
            .unwrap();
            std::fs::write(src.join(format!("usr/share/tmn/{name}")), format!("{version}\n")).unwrap();
            sh(&format!("dpkg-deb --root-owner-group -Zgzip --build {} repo/{name}_{version}_all.deb >/dev/null", src.display()), &dir);
        }
        let gpg = format!("GNUPGHOME={}", dir.join("gnupg").display());
        std::fs::create_dir_all(dir.join("gnupg")).unwrap();
        sh(&format!("chmod 700 gnupg && {gpg} gpg --batch --quiet --passphrase '' --quick-gen-key 'timonel tests <tests@example.invalid>' ed25519 sign never"), &dir);
        sh(&format!("cd repo && apt-ftparchive packages . > Packages && gzip -k Packages && apt-ftparchive release . > Release && {gpg} gpg --batch --quiet --yes --clearsign -o InRelease Release"), &dir);
        sh(&format!("{gpg} gpg --batch --quiet --export > repo-key.gpg && {gpg} gpg --batch --quiet --armor --export > repo-key.asc"), &dir);
        dir
    })
}

/// A host whose only apt source is the test repository (nothing goes to the network).
fn apt_host(name: &str, port: u16) -> (String, u16) {
    let h = own(name, port);
    let r = repo();
    let cp = Command::new("docker")
        .args([
            "cp",
            &r.join("repo").display().to_string(),
            &format!("{name}:/srv/"),
        ])
        .status()
        .unwrap();
    assert!(cp.success());
    exec(name, "rm -f /etc/apt/sources.list; rm -rf /etc/apt/sources.list.d/*; chown -R root:root /srv/repo");
    h
}

fn setup_play(key: &Path) -> String {
    format!(
        r#"- hosts: lab
  gather_facts: no
  become: yes
  tasks:
    - file: {{path: /etc/apt/keyrings, state: directory, mode: "0755"}}
    - copy: {{src: {key}, dest: /etc/apt/keyrings/timonel-test.gpg, mode: "0644"}}
    - copy:
        dest: /etc/apt/sources.list.d/timonel-test.list
        content: "deb [signed-by=/etc/apt/keyrings/timonel-test.gpg] file:/srv/repo ./\n"
"#,
        key = key.display()
    )
}

fn versions(host: &str) -> String {
    exec(host, "dpkg-query -W -f='${Package}=${Version} ${db:Status-Abbrev}\\n' 'tmn-*' 2>/dev/null | grep ' ii' | cut -d' ' -f1 | sort | tr '\\n' ' '")
}

#[test]
fn install_pin_upgrade_and_remove_with_check_mode_and_idempotence() {
    let t = Lab::new();
    let hosts = vec![apt_host("t-apt", 22251)];
    let h = &hosts[0].0;
    t.write("hosts", &inventory(&hosts, "tester"));
    t.write("setup.yml", &setup_play(&repo().join("repo-key.gpg")));
    run(&t, &["run", "setup.yml", "-i", "hosts"]).assert_ok();
    t.write("install.yml", "- hosts: lab\n  gather_facts: no\n  become: yes\n  tasks:\n    - apt: {name: tmn-app=1.0, update_cache: yes}\n      register: r\n    - assert: {that: [\"r.packages.installed | map(attribute='name') | sort == ['tmn-app', 'tmn-base']\"]}\n      when: not ansible_check_mode and r.changed\n");
    // --check --diff on a host that has never updated its cache: no change is made.
    let out = run(
        &t,
        &["run", "install.yml", "-i", "hosts", "--check", "--diff"],
    );
    out.assert_ok();
    assert_eq!(versions(h), "", "check mode installed something");
    let out = run(&t, &["run", "install.yml", "-i", "hosts"]);
    out.assert_ok();
    assert_eq!(versions(h), "tmn-app=1.0 tmn-base=1.0 ");
    assert_eq!(exec(h, "cat /usr/share/tmn/tmn-app"), "1.0\n");
    let again = run(&t, &["run", "install.yml", "-i", "hosts"]);
    assert_eq!(again.recap(h).changed, 0, "{}", again.stdout);
    // latest: check mode names the upgrade with versions, then the run does it.
    t.write("latest.yml", "- hosts: lab\n  gather_facts: no\n  become: yes\n  tasks:\n    - apt: {name: [tmn-app, tmn-extra], state: latest}\n");
    let out = run(
        &t,
        &["run", "latest.yml", "-i", "hosts", "--check", "--diff"],
    );
    out.assert_ok();
    assert!(
        out.stdout.contains("-tmn-app 1.0")
            && out.stdout.contains("+tmn-app 1.1")
            && out.stdout.contains("+tmn-extra 1.0"),
        "{}",
        out.stdout
    );
    assert_eq!(versions(h), "tmn-app=1.0 tmn-base=1.0 ");
    let out = run(&t, &["run", "latest.yml", "-i", "hosts"]);
    assert_eq!(out.recap(h), recap(1, 1, 0, 0), "{}", out.stdout);
    assert_eq!(versions(h), "tmn-app=1.1 tmn-base=1.0 tmn-extra=1.0 ");
    assert_eq!(
        run(&t, &["run", "latest.yml", "-i", "hosts"])
            .recap(h)
            .changed,
        0
    );
    // Downgrade needs allow_downgrade; purge removes.
    t.write("down.yml", "- hosts: lab\n  gather_facts: no\n  become: yes\n  tasks:\n    - apt: {name: tmn-app=1.0, allow_downgrade: yes}\n    - apt: {name: tmn-extra, state: absent, purge: yes}\n");
    run(&t, &["run", "down.yml", "-i", "hosts"]).assert_ok();
    assert_eq!(versions(h), "tmn-app=1.0 tmn-base=1.0 ");
    // Purged: dpkg no longer knows the package at all.
    assert_eq!(
        exec(
            h,
            "dpkg-query -W tmn-extra >/dev/null 2>&1 && echo known || echo purged"
        ),
        "purged\n"
    );
    assert_eq!(
        run(&t, &["run", "down.yml", "-i", "hosts"])
            .recap(h)
            .changed,
        0
    );
}

#[test]
fn apt_waits_for_the_dpkg_lock_then_succeeds() {
    let t = Lab::new();
    let hosts = vec![apt_host("t-apt-lock", 22252)];
    let h = &hosts[0].0;
    t.write("hosts", &inventory(&hosts, "tester"));
    t.write("setup.yml", &setup_play(&repo().join("repo-key.gpg")));
    run(&t, &["run", "setup.yml", "-i", "hosts"]).assert_ok();
    exec(h, "apt-get update -q >/dev/null 2>&1");
    // Another apt holds the lock for 4 seconds, the way unattended-upgrades does at boot.
    let holder = Command::new("docker")
        .args(["exec", "-d", h, "python3", "-c", "import fcntl,time; f=open('/var/lib/dpkg/lock-frontend','w'); fcntl.lockf(f, fcntl.LOCK_EX); open('/tmp/locked','w').close(); time.sleep(4)"])
        .status()
        .unwrap();
    assert!(holder.success());
    while exec(h, "test -e /tmp/locked && echo yes") != "yes\n" {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    t.write("p.yml", "- hosts: lab\n  gather_facts: no\n  become: yes\n  tasks:\n    - apt: {name: tmn-extra}\n      register: r\n    - assert: {that: [r.lock_waited]}\n");
    let started = std::time::Instant::now();
    let out = run(&t, &["run", "p.yml", "-i", "hosts"]);
    out.assert_ok();
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(2),
        "did not wait"
    );
    assert_eq!(versions(h), "tmn-extra=1.0 ");
}

#[test]
fn bad_packages_versions_and_keys_fail_clearly() {
    let t = Lab::new();
    let hosts = vec![apt_host("t-apt-bad", 22253)];
    let h = &hosts[0].0;
    t.write("hosts", &inventory(&hosts, "tester"));
    t.write("setup.yml", &setup_play(&repo().join("repo-key.gpg")));
    run(&t, &["run", "setup.yml", "-i", "hosts"]).assert_ok();
    t.write("p.yml", "- hosts: lab\n  gather_facts: no\n  become: yes\n  tasks:\n    - apt: {name: tmn-nope, update_cache: yes}\n");
    let out = run(&t, &["run", "p.yml", "-i", "hosts"]);
    out.assert_code(2);
    assert!(
        out.stdout.contains("Unable to locate package tmn-nope"),
        "{}",
        out.stdout
    );
    t.write("v.yml", "- hosts: lab\n  gather_facts: no\n  become: yes\n  tasks:\n    - apt: {name: tmn-app=9.9}\n");
    let out = run(&t, &["run", "v.yml", "-i", "hosts"]);
    out.assert_code(2);
    assert!(
        out.stdout
            .contains("Version '9.9' for 'tmn-app' was not found"),
        "{}",
        out.stdout
    );
    t.write("o.yml", "- hosts: lab\n  gather_facts: no\n  become: yes\n  tasks:\n    - apt: {name: tmn-app, stat: latest}\n");
    run(&t, &["run", "o.yml", "-i", "hosts"])
        .assert_code(5)
        .assert_error(&["unsupported argument 'stat' for module 'apt' (did you mean 'state'?)"]);
    // A repository whose key is missing: the update fails and says why.
    exec(h, "rm /etc/apt/keyrings/timonel-test.gpg");
    let out = run(&t, &["run", "p.yml", "-i", "hosts"]);
    out.assert_code(2);
    assert!(out.stdout.contains("apt-get update failed (the key file /etc/apt/keyrings/timonel-test.gpg named by signed-by does not exist)"), "{}", out.stdout);
    assert_eq!(versions(h), "");
}

#[test]
fn repositories_are_added_with_signed_by_and_a_broken_one_is_rolled_back() {
    let t = Lab::new();
    let hosts = vec![apt_host("t-apt-repo", 22254)];
    let h = &hosts[0].0;
    t.write("hosts", &inventory(&hosts, "tester"));
    let key = repo().join("repo-key.gpg").display().to_string();
    let asc = repo().join("repo-key.asc").display().to_string();
    t.write(
        "r.yml",
        &format!(
            r#"
- hosts: lab
  gather_facts: no
  become: yes
  tasks:
    - copy: {{src: {key}, dest: /etc/apt/keyrings/timonel-test.gpg, mode: "0644"}}
    - apt_repository:
        repo: "deb [signed-by=/etc/apt/keyrings/timonel-test.gpg] file:/srv/repo ./"
        filename: timonel-test
    - apt: {{name: tmn-base}}
"#
        ),
    );
    let out = run(&t, &["run", "r.yml", "-i", "hosts", "--check"]);
    out.assert_code(2); // apt cannot find tmn-base before the repository exists, as in Ansible
    assert_eq!(exec(h, "ls /etc/apt/sources.list.d/"), "");
    run(&t, &["run", "r.yml", "-i", "hosts"]).assert_ok();
    assert_eq!(
        exec(h, "cat /etc/apt/sources.list.d/timonel-test.list"),
        "deb [signed-by=/etc/apt/keyrings/timonel-test.gpg] file:/srv/repo ./\n"
    );
    assert_eq!(versions(h), "tmn-base=1.0 ");
    assert_eq!(
        run(&t, &["run", "r.yml", "-i", "hosts"]).recap(h).changed,
        0
    );
    // A second repository whose key was never installed: refused and rolled back.
    t.write(
        "bad.yml",
        r#"
- hosts: lab
  gather_facts: no
  become: yes
  tasks:
    - apt_repository:
        repo: "deb [signed-by=/etc/apt/keyrings/missing.gpg] file:/srv/repo ./"
        filename: broken
"#,
    );
    let out = run(&t, &["run", "bad.yml", "-i", "hosts"]);
    out.assert_code(2);
    assert!(
        out.stdout.contains(
            "the key file /etc/apt/keyrings/missing.gpg named by signed-by does not exist"
        ) && out.stdout.contains("was restored"),
        "{}",
        out.stdout
    );
    assert_eq!(
        exec(h, "ls /etc/apt/sources.list.d/"),
        "timonel-test.list\n"
    );
    assert_eq!(
        exec(h, "apt-get update -q 2>&1 | grep -c '^[WE]:'"),
        "0\n",
        "apt-get update is broken after the failed change"
    );
    // deb822 with the armoured key embedded, then removed.
    t.write("d.yml", &format!(r#"
- hosts: lab
  gather_facts: no
  become: yes
  tasks:
    - apt_repository: {{repo: "deb [signed-by=/etc/apt/keyrings/timonel-test.gpg] file:/srv/repo ./", filename: timonel-test, state: absent}}
    - deb822_repository:
        name: timonel-822
        uris: file:/srv/repo
        suites: ./
        signed_by: "{{{{ lookup('file', '{asc}') }}}}"
        update_cache: yes
    - apt: {{name: tmn-extra}}
"#));
    run(&t, &["run", "d.yml", "-i", "hosts"]).assert_ok();
    assert_eq!(
        exec(h, "ls /etc/apt/sources.list.d/"),
        "timonel-822.sources\n"
    );
    assert!(exec(h, "cat /etc/apt/sources.list.d/timonel-822.sources")
        .contains("Signed-By:\n -----BEGIN PGP PUBLIC KEY BLOCK-----"));
    assert_eq!(versions(h), "tmn-base=1.0 tmn-extra=1.0 ");
    assert_eq!(
        run(&t, &["run", "d.yml", "-i", "hosts"]).recap(h).changed,
        0
    );
}
