use crate::support::{recap, Lab};

const SITE: &str = r#"
- hosts: localhost
  gather_facts: no
  vars:
    greeting: hello
  tasks:
    - file: path={{ root }}/site/conf state=directory mode=0750
    - copy:
        content: "greeting={{ greeting }}\n"
        dest: "{{ root }}/site/conf/app.conf"
        mode: 0600
    - copy: src=motd dest={{ root }}/site/
    - template: src=page.j2 dest={{ root }}/site/index.html
    - lineinfile:
        path: "{{ root }}/site/conf/extra.conf"
        regexp: '^port='
        line: port=8080
        create: yes
    - blockinfile:
        path: "{{ root }}/site/conf/extra.conf"
        block: |
          a=1
          b=2
    - copy: {content: "Hello World\n", dest: "{{ root }}/site/conf/legacy.conf", force: no}
    - replace:
        path: "{{ root }}/site/conf/legacy.conf"
        regexp: 'World'
        replace: 'timonel'
    - file: src=conf dest={{ root }}/site/current state=link
    - file: path={{ root }}/site/empty state=touch
      changed_when: false
"#;

fn site() -> Lab {
    let lab = Lab::new();
    lab.write("site.yml", SITE)
        .write("files/motd", "welcome\n")
        .write("templates/page.j2", "<h1>Hello World from {{ inventory_hostname }}</h1>\n{% for i in range(2) %}\nline {{ i }}\n{% endfor %}\n");
    lab
}

#[test]
fn first_run_builds_the_tree_and_second_run_changes_nothing() {
    let lab = site();
    let out = lab.play("site.yml", &[]);
    out.assert_ok();
    assert_eq!(out.recap("localhost"), recap(10, 9, 0, 0), "{}", out.stdout);
    assert_eq!(lab.read("site/conf/app.conf"), "greeting=hello\n");
    assert_eq!(
        lab.read("site/conf/extra.conf"),
        "port=8080\n# BEGIN ANSIBLE MANAGED BLOCK\na=1\nb=2\n# END ANSIBLE MANAGED BLOCK\n"
    );
    assert_eq!(lab.read("site/conf/legacy.conf"), "Hello timonel\n");
    assert_eq!(lab.mode("site/conf/app.conf"), 0o600);
    assert_eq!(lab.mode("site/conf"), 0o750);
    assert_eq!(lab.read("site/motd"), "welcome\n");
    assert_eq!(
        lab.read("site/index.html"),
        "<h1>Hello World from localhost</h1>\nline 0\nline 1\n"
    );
    assert_eq!(
        std::fs::read_link(lab.path("site/current"))
            .unwrap()
            .display()
            .to_string(),
        "conf"
    );
    let tree = lab.tree("site");
    let again = lab.play("site.yml", &[]);
    again.assert_ok();
    assert_eq!(
        again.recap("localhost"),
        recap(10, 0, 0, 0),
        "{}",
        again.stdout
    );
    assert_eq!(lab.tree("site"), tree);
}

#[test]
fn check_diff_previews_every_change_and_writes_nothing() {
    let lab = site();
    // On a fresh machine the preview runs until blockinfile needs the file lineinfile would
    // have created, and fails there as Ansible does; nothing is written either way.
    let out = lab.play("site.yml", &["--check", "--diff"]);
    out.assert_code(2);
    assert!(
        out.stdout.contains("extra.conf does not exist"),
        "{}",
        out.stdout
    );
    assert!(!lab.exists("site"), "check mode created files");
    assert!(out.stdout.contains("+greeting=hello"), "{}", out.stdout);
    assert!(
        out.stdout.contains("--- before: ") && out.stdout.contains("+++ after: "),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("-state: absent\n+state: directory"),
        "{}",
        out.stdout
    );
    // On a built tree the preview is exact:
    lab.play("site.yml", &[]).assert_ok();
    lab.write("site/conf/app.conf", "greeting=bye\n");
    std::fs::set_permissions(
        lab.path("site/conf/app.conf"),
        std::os::unix::fs::PermissionsExt::from_mode(0o644),
    )
    .unwrap();
    let tree = lab.tree("site");
    let out = lab.play("site.yml", &["--check", "--diff"]);
    out.assert_ok();
    assert_eq!(lab.tree("site"), tree, "check mode changed files");
    assert!(
        out.stdout.contains("-greeting=bye\n+greeting=hello\n"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("-mode: 0644\n+mode: 0600\n"),
        "{}",
        out.stdout
    );
    assert_eq!(out.recap("localhost").changed, 1, "{}", out.stdout);
}

#[test]
fn file_module_states() {
    let lab = Lab::new();
    lab.write(
        "f.yml",
        r#"
- hosts: localhost
  gather_facts: false
  tasks:
    - file: {path: "{{ root }}/d/a/b", state: directory}
    - file: {path: "{{ root }}/d/t", state: touch, mode: "u=rw,g=r,o="}
    - file: {path: "{{ root }}/d/a", state: directory, mode: "0700", recurse: yes}
    - file: {src: "{{ root }}/d/t", dest: "{{ root }}/d/hard", state: hard}
    - file: {path: "{{ root }}/d/a/b", state: absent}
    - stat: path={{ root }}/d/t
      register: st
    - assert:
        that:
          - st.stat.exists
          - st.stat.isreg
          - st.stat.mode == '0640'
"#,
    );
    let out = lab.play("f.yml", &[]);
    out.assert_ok();
    assert!(!lab.exists("d/a/b"));
    assert_eq!(lab.mode("d/a"), 0o700);
    assert_eq!(lab.mode("d/t"), 0o640);
    assert!(lab.exists("d/hard"));
    let r = out.recap("localhost");
    assert_eq!((r.ok, r.changed, r.failed), (7, 5, 0), "{}", out.stdout);
}

#[test]
fn copy_keeps_a_backup_and_force_no_leaves_existing_files() {
    let lab = Lab::new();
    lab.write("old.txt", "old\n").write("keep.txt", "mine\n");
    lab.write(
        "c.yml",
        r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - copy: {content: "new\n", dest: "{{ root }}/old.txt", backup: yes}
      register: c
    - copy: {content: "theirs\n", dest: "{{ root }}/keep.txt", force: no}
    - assert: {that: ["c.backup_file is defined", "c.changed"]}
"#,
    );
    lab.play("c.yml", &[]).assert_ok();
    assert_eq!(lab.read("old.txt"), "new\n");
    assert_eq!(lab.read("keep.txt"), "mine\n");
    let backups: Vec<_> = std::fs::read_dir(lab.root())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("old.txt."))
        .collect();
    assert_eq!(backups.len(), 1);
    assert_eq!(std::fs::read_to_string(backups[0].path()).unwrap(), "old\n");
}

#[test]
fn writes_leave_no_temporary_files_and_keep_existing_modes() {
    let lab = Lab::new();
    lab.write("w/x.conf", "a\n");
    std::fs::set_permissions(
        lab.path("w/x.conf"),
        std::os::unix::fs::PermissionsExt::from_mode(0o604),
    )
    .unwrap();
    lab.write(
        "w.yml",
        r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - lineinfile: {path: "{{ root }}/w/x.conf", line: "b"}
    - copy: {content: "z", dest: "{{ root }}/w/new.conf"}
"#,
    );
    lab.play("w.yml", &[]).assert_ok();
    assert_eq!(lab.read("w/x.conf"), "a\nb\n");
    assert_eq!(lab.mode("w/x.conf"), 0o604);
    let names: Vec<String> = std::fs::read_dir(lab.path("w"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "leftover files: {names:?}");
}

#[test]
fn a_write_into_a_missing_directory_fails_cleanly() {
    let lab = Lab::new();
    lab.write("m.yml", "- hosts: localhost\n  gather_facts: no\n  tasks:\n    - copy: {content: x, dest: '{{ root }}/nope/f'}\n");
    let out = lab.play("m.yml", &[]);
    out.assert_code(2);
    assert!(out.stdout.contains("does not exist"), "{}", out.stdout);
    assert!(!lab.exists("nope"));
}

#[test]
fn lineinfile_regexp_backrefs_insertbefore_and_absent() {
    let lab = Lab::new();
    lab.write("cfg", "# top\nPermitRootLogin yes\nPort 22\nX=1\n");
    lab.write("l.yml", r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - lineinfile: {path: "{{ root }}/cfg", regexp: '^PermitRootLogin', line: 'PermitRootLogin no'}
    - lineinfile: {path: "{{ root }}/cfg", regexp: '^Port (\d+)', line: 'Port \1 # kept', backrefs: yes}
    - lineinfile: {path: "{{ root }}/cfg", line: 'first', insertbefore: BOF}
    - lineinfile: {path: "{{ root }}/cfg", regexp: '^X=', state: absent}
    - lineinfile: {path: "{{ root }}/cfg", line: 'after top', insertafter: '^# top'}
"#);
    let out = lab.play("l.yml", &[]);
    out.assert_ok();
    assert_eq!(
        lab.read("cfg"),
        "first\n# top\nafter top\nPermitRootLogin no\nPort 22 # kept\n"
    );
    assert_eq!(lab.play("l.yml", &[]).recap("localhost").changed, 0);
}

#[test]
fn file_refuses_to_remove_or_recursively_change_the_root_directory() {
    let lab = Lab::new();
    lab.write("keep", "still here\n");
    lab.write(
        "root.yml",
        r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - file: {path: "{{ item }}", state: absent}
      loop: ["/", "//", "{{ root }}/../../../../../../../.."]
      ignore_errors: true
    - file: {path: /., state: directory, recurse: true, mode: "0700"}
      ignore_errors: true
"#,
    );
    let out = lab.play("root.yml", &["--check"]);
    out.assert_ok();
    let refused = out.stdout.lines().filter(|l| {
        l.starts_with("failed: [localhost] (item=")
            && l.contains("refusing to remove the root directory")
    });
    assert_eq!(refused.count(), 3, "{}", out.stdout);
    assert!(
        out.stdout
            .contains("refusing to change ownership or modes recursively from the root directory"),
        "{}",
        out.stdout
    );
    assert_eq!(out.recap("localhost").ignored, 2);
    assert_eq!(lab.read("keep"), "still here\n");
}
