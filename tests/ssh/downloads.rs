//! get_url and unarchive: downloads on the controller (hosts without network) and on the
//! host, checksums, dearmoured keys, archives extracted idempotently.

use std::process::{Child, Command};

use crate::lab::{exec, inventory, own};
use crate::run;
use crate::support::{recap, Lab};

/// An HTTP server on the controller's loopback, serving `dir`; killed on drop.
struct Server(Child, u16);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
    }
}

fn serve(dir: &std::path::Path) -> Server {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("python3")
        .args([
            "-m",
            "http.server",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--directory",
            &dir.display().to_string(),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    Server(child, port)
}

fn sha256(path: &std::path::Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

#[test]
fn get_url_on_the_controller_with_checksums_and_a_dearmoured_key() {
    let t = Lab::new();
    let hosts = vec![own("t-download", 22271)];
    let h = &hosts[0].0;
    t.write("hosts", &inventory(&hosts, "tester"));
    t.write("www/tool/bin/tool", "#!/bin/sh\necho tool 1.0\n");
    let gnupg = t.path("gnupg");
    std::fs::create_dir_all(&gnupg).unwrap();
    let gpg = |args: &str| {
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "chmod 700 {0}; GNUPGHOME={0} gpg --batch --quiet {args}",
                gnupg.display()
            ))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    gpg("--passphrase '' --quick-gen-key 'k <k@example.invalid>' ed25519 sign never");
    gpg(&format!(
        "--armor --export > {}",
        t.path("www/key.asc").display()
    ));
    gpg(&format!("--export > {}", t.path("key.gpg").display()));
    let tar = Command::new("tar")
        .args([
            "-C",
            &t.path("www").display().to_string(),
            "-czf",
            &t.path("www/tool.tar.gz").display().to_string(),
            "tool",
        ])
        .status()
        .unwrap();
    assert!(tar.success());
    let sum = sha256(&t.path("www/tool.tar.gz"));
    let server = serve(&t.path("www"));
    let base = format!("http://127.0.0.1:{}", server.1);
    t.write("g.yml", &format!(r#"
- hosts: lab
  gather_facts: no
  become: yes
  tasks:
    - get_url: {{url: "{base}/tool.tar.gz", dest: /opt/, checksum: "sha256:{sum}", download_on: controller, mode: "0640"}}
    - get_url: {{url: "{base}/key.asc", dest: /etc/apt/keyrings/k.gpg, download_on: controller}}
    - file: {{path: /opt/tool, state: directory}}
    - unarchive: {{src: /opt/tool.tar.gz, dest: /opt, remote_src: yes}}
"#));
    let out = run(&t, &["run", "g.yml", "-i", "hosts"]);
    out.assert_ok();
    assert_eq!(
        exec(h, "sha256sum /opt/tool.tar.gz | cut -d' ' -f1"),
        format!("{sum}\n")
    );
    assert_eq!(exec(h, "stat -c %a /opt/tool.tar.gz"), "640\n");
    assert_eq!(exec(h, "sh /opt/tool/bin/tool"), "tool 1.0\n");
    let key = std::fs::read(t.path("key.gpg")).unwrap();
    let got = Command::new("docker")
        .args(["exec", h, "cat", "/etc/apt/keyrings/k.gpg"])
        .output()
        .unwrap()
        .stdout;
    assert_eq!(
        got, key,
        "the armoured key was not dearmoured like gpg --dearmor"
    );
    let again = run(&t, &["run", "g.yml", "-i", "hosts"]);
    assert_eq!(again.recap(h), recap(4, 0, 0, 0), "{}", again.stdout);
    // A wrong checksum fails and leaves nothing behind.
    t.write("bad.yml", &format!("- hosts: lab\n  gather_facts: no\n  become: yes\n  tasks:\n    - get_url: {{url: \"{base}/tool.tar.gz\", dest: /opt/other.tgz, checksum: \"sha256:{}\", download_on: controller}}\n", "0".repeat(64)));
    let out = run(&t, &["run", "bad.yml", "-i", "hosts"]);
    out.assert_code(2);
    assert!(
        out.stdout.contains("checksum mismatch") && out.stdout.contains("nothing was written"),
        "{}",
        out.stdout
    );
    assert_eq!(exec(h, "ls /opt/other.tgz* 2>/dev/null"), "");
}

#[test]
fn get_url_on_the_host_and_unarchive_from_the_controller() {
    let t = Lab::new();
    let hosts = vec![own("t-download-host", 22272)];
    let h = &hosts[0].0;
    t.write("hosts", &inventory(&hosts, "tester"));
    // A server inside the host itself: only the host can reach it.
    exec(
        h,
        "mkdir -p /srv/files && echo 'from the host' > /srv/files/note.txt",
    );
    let started = Command::new("docker")
        .args([
            "exec",
            "-d",
            h,
            "python3",
            "-m",
            "http.server",
            "8080",
            "--bind",
            "127.0.0.1",
            "--directory",
            "/srv/files",
        ])
        .status()
        .unwrap();
    assert!(started.success());
    while exec(h, "curl -fs http://127.0.0.1:8080/note.txt") != "from the host\n" {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    t.write("files/app/VERSION", "2.0\n");
    t.write("files/app/conf/app.ini", "[app]\n");
    let tar = Command::new("tar")
        .args([
            "-C",
            &t.path("files").display().to_string(),
            "-czf",
            &t.path("files/app.tar.gz").display().to_string(),
            "app",
        ])
        .status()
        .unwrap();
    assert!(tar.success());
    t.write(
        "p.yml",
        r#"
- hosts: lab
  gather_facts: no
  tasks:
    - get_url: {url: "http://127.0.0.1:8080/note.txt", dest: /tmp/note.txt}
    - unarchive: {src: app.tar.gz, dest: /tmp}
"#,
    );
    let out = run(&t, &["run", "p.yml", "-i", "hosts", "--check"]);
    out.assert_ok();
    assert_eq!(
        exec(h, "ls /tmp/note.txt /tmp/app 2>/dev/null"),
        "",
        "check mode wrote files"
    );
    run(&t, &["run", "p.yml", "-i", "hosts"]).assert_ok();
    assert_eq!(
        exec(
            h,
            "cat /tmp/note.txt /tmp/app/VERSION /tmp/app/conf/app.ini"
        ),
        "from the host\n2.0\n[app]\n"
    );
    assert_eq!(
        run(&t, &["run", "p.yml", "-i", "hosts"]).recap(h).changed,
        0
    );
    exec(h, "echo changed > /tmp/app/VERSION");
    let out = run(&t, &["run", "p.yml", "-i", "hosts"]);
    assert_eq!(out.recap(h).changed, 1, "{}", out.stdout);
    assert_eq!(exec(h, "cat /tmp/app/VERSION"), "2.0\n");
}
