//! Controller memory stays bounded on large inputs: files are streamed in chunks in both
//! directions (copy, get_url on the controller, fetch), a long loop keeps no per-item results
//! unless it is registered, and a large playbook is checked without a copy per stage. Each test
//! measures the binary's peak resident memory (wait4's rusage) against a ceiling far below
//! what holding the data would take. `TIMONEL_BIN` runs them against another build.

use std::io::{Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};

use crate::support::{Lab, Out};

/// A file far larger than any ceiling below: holding it (let alone three copies) fails them.
const BIG: u64 = 256 << 20;
/// Peak RSS for a streamed transfer of BIG: the binary itself plus its chunk buffers.
const STREAM_CEILING_KB: u64 = 96 << 10;

fn bin() -> String {
    std::env::var("TIMONEL_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_timonel").to_string())
}

/// Runs timonel and returns what it printed and its peak resident memory in KiB.
#[allow(clippy::zombie_processes)] // reaped by wait4, which std's Child doesn't know of
pub(crate) fn measured(lab: &Lab, args: &[&str]) -> (Out, u64) {
    let mut child = Command::new(bin())
        .args(args)
        .current_dir(lab.root())
        .env("NO_COLOR", "1")
        .env_remove("ANSIBLE_INVENTORY")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run timonel");
    let mut so = child.stdout.take().expect("stdout");
    let mut se = child.stderr.take().expect("stderr");
    let t_out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = so.read_to_string(&mut s);
        s
    });
    let t_err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = se.read_to_string(&mut s);
        s
    });
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value; wait4 fills it for this child only.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: wait4 on our own child's pid; the pointers are to live locals.
    let r = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    assert_eq!(r, child.id() as i32, "wait4 failed");
    let status = std::process::ExitStatus::from_raw(status);
    let out = Out {
        code: status
            .code()
            .unwrap_or_else(|| 128 + status.signal().unwrap_or(0)),
        stdout: t_out.join().expect("stdout reader"),
        stderr: t_err.join().expect("stderr reader"),
    };
    (out, usage.ru_maxrss as u64)
}

/// A BIG file of zeros without writing it (a sparse file reads as zeros).
fn big_file(lab: &Lab, rel: &str) -> std::path::PathBuf {
    let p = lab.path(rel);
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::File::create(&p)
        .and_then(|f| f.set_len(BIG))
        .expect("big file");
    p
}

fn assert_big_zeros(path: &std::path::Path) {
    let mut f = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let (mut buf, mut n) = (vec![0u8; 1 << 20], 0u64);
    loop {
        let k = f.read(&mut buf).expect("read");
        if k == 0 {
            break;
        }
        assert!(
            buf[..k].iter().all(|b| *b == 0),
            "{} differs",
            path.display()
        );
        n += k as u64;
    }
    assert_eq!(n, BIG, "{} has the wrong size", path.display());
}

fn no_temporary_files(dir: &std::path::Path) {
    let left: Vec<_> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(left.is_empty(), "temporary files left: {left:?}");
}

#[test]
fn copy_of_a_large_file_streams_it() {
    let lab = Lab::new();
    big_file(&lab, "files/big.bin");
    lab.write(
        "copy.yml",
        "- hosts: localhost\n  gather_facts: no\n  tasks:\n    - copy: {src: big.bin, dest: '{root}/out/big.bin'}\n",
    );
    std::fs::create_dir_all(lab.path("out")).expect("mkdir");
    let (out, peak) = measured(&lab, &["run", "copy.yml"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_big_zeros(&lab.path("out/big.bin"));
    no_temporary_files(&lab.path("out"));
    assert!(
        peak < STREAM_CEILING_KB,
        "copying {BIG} bytes took {peak} KiB of memory"
    );
}

#[test]
fn fetch_of_a_large_file_streams_it() {
    let lab = Lab::new();
    let src = big_file(&lab, "remote/big.bin");
    lab.write(
        "fetch.yml",
        &format!(
            "- hosts: localhost\n  gather_facts: no\n  tasks:\n    - fetch: {{src: '{}', dest: '{{root}}/got/', flat: true}}\n",
            src.display()
        ),
    );
    let (out, peak) = measured(&lab, &["run", "fetch.yml"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_big_zeros(&lab.path("got/big.bin"));
    no_temporary_files(&lab.path("got"));
    assert!(
        peak < STREAM_CEILING_KB,
        "fetching {BIG} bytes took {peak} KiB of memory"
    );
}

/// An HTTP server answering every request with BIG zero bytes.
fn serve_zeros() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut req = [0u8; 4096];
            let _ = s.read(&mut req);
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Length: {BIG}\r\nConnection: close\r\n\r\n"
            );
            let chunk = vec![0u8; 1 << 20];
            for _ in 0..(BIG >> 20) {
                if s.write_all(&chunk).is_err() {
                    break;
                }
            }
        }
    });
    port
}

#[test]
fn get_url_on_the_controller_streams_the_download() {
    let lab = Lab::new();
    let port = serve_zeros();
    std::fs::create_dir_all(lab.path("out")).expect("mkdir");
    lab.write(
        "get.yml",
        &format!(
            "- hosts: localhost\n  gather_facts: no\n  tasks:\n    - get_url:\n        url: http://127.0.0.1:{port}/big.bin\n        dest: '{{root}}/out/big.bin'\n        download_on: controller\n        timeout: 300\n"
        ),
    );
    let (out, peak) = measured(&lab, &["run", "get.yml"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_big_zeros(&lab.path("out/big.bin"));
    no_temporary_files(&lab.path("out"));
    assert!(
        peak < STREAM_CEILING_KB,
        "downloading {BIG} bytes took {peak} KiB of memory"
    );
}

#[test]
fn a_long_loop_keeps_no_result_per_item_unless_registered() {
    let lab = Lab::new();
    lab.write(
        "loop.yml",
        "- hosts: localhost\n  gather_facts: no\n  tasks:\n    - debug: msg=x\n      loop: \"{{ range(60000) | list }}\"\n    - debug: msg=y\n      loop: [1, 2, 3]\n      register: few\n    - assert: {that: [\"few.results | length == 3\", \"few.results[2].item == 3\"]}\n",
    );
    let (out, peak) = measured(&lab, &["run", "loop.yml"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(
        out.stdout.matches("ok: [localhost] => (item=").count(),
        60003
    );
    // Before: about 1.1 KiB more per item (98 MiB in all for this loop).
    assert!(
        peak < 60 << 10,
        "a 60,000-item loop took {peak} KiB of memory"
    );
}

#[test]
fn a_large_yaml_file_is_held_without_spare_capacity() {
    let lab = Lab::new();
    let mut data = String::from("rows:\n");
    for i in 0..300_000 {
        data.push_str(&format!("  - {{k: {i}}}\n"));
    }
    lab.write("data.yml", &data);
    lab.write(
        "p.yml",
        "- hosts: localhost\n  gather_facts: no\n  tasks: []\n",
    );
    let (out, peak) = measured(&lab, &["run", "--syntax-check", "p.yml", "-e", "@data.yml"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    // 4.7 MB of one-key mappings: 428 MB when every mapping kept room for four keys, 330 MB
    // now (the rest is the JSON values made from them).
    assert!(
        peak < 380 << 10,
        "a 4.7 MB YAML file took {peak} KiB of memory"
    );
}
