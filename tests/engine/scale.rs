//! The controller's memory grows linearly with the number of hosts: a task on n hosts may not
//! hold n copies of n-long host lists (`groups`, `ansible_play_hosts`, ...). Not timed: the
//! shape is what is asserted, peak RSS at 2,000 hosts against 500 (linear growth gives under
//! 4×, the square 16×), and the memory each host adds. `TIMONEL_BIN` runs it against
//! another build.

use crate::support::Lab;

/// The tasks hold a connection and a variable context per host while the hosts run side by
/// side (forks = hosts), and read the host lists as a template would.
const PLAYBOOK: &str = "\
- hosts: all
  gather_facts: no
  tasks:
    - file: {path: \"{{ root }}/{{ inventory_hostname }}\", state: directory}
    - copy:
        dest: \"{{ root }}/{{ inventory_hostname }}/c\"
        content: \"{{ groups['all'] | length }} {{ ansible_play_hosts | length }} {{ play_hosts[0] }}\"
    - debug: msg=\"{{ ansible_play_batch | length }} {{ ansible_play_hosts_all[-1] }}\"
";

/// Peak RSS in KiB of one `--check` run over `n` local hosts, read from the kernel's
/// rusage of the finished process (wait4), so no sampling can miss the peak.
fn peak_rss_kib(lab: &Lab, n: usize) -> i64 {
    let inv = format!("hosts-{n}.ini");
    lab.write(
        &inv,
        &format!("[many]\nh[1:{n}] ansible_connection=local\n"),
    );
    let root = format!("root={}", lab.root().display());
    let forks = n.to_string();
    let (out, kib) = crate::memory::measured(
        lab,
        &[
            "run", "p.yml", "-i", &inv, "--check", "-f", &forks, "-e", &root,
        ],
    );
    assert_eq!(
        out.code, 0,
        "the --check run over {n} hosts failed\n{}",
        out.stderr
    );
    kib as i64
}

#[test]
fn controller_memory_grows_linearly_with_hosts() {
    let lab = Lab::new();
    lab.write("p.yml", PLAYBOOK);
    let small = peak_rss_kib(&lab, 500);
    let large = peak_rss_kib(&lab, 2000);
    let ratio = large as f64 / small as f64;
    assert!(
        ratio < 4.5,
        "peak RSS {} MiB at 2,000 hosts is {ratio:.1}x the {} MiB at 500 (linear gives < 4x)",
        large / 1024,
        small / 1024
    );
    // The shape alone can hide a large per-host cost when a slow run lets fewer hosts overlap
    // (before the fix: 1 MiB a host at 500 hosts, 2x at 1,000); each host beyond 500 may add
    // at most 100 KiB (about 15 KiB measured).
    let per_host = (large - small) / 1500;
    assert!(
        per_host < 100,
        "each host adds {per_host} KiB of controller memory ({} MiB at 500 hosts, {} MiB at 2,000)",
        small / 1024,
        large / 1024
    );
    // --check changed nothing on the hosts.
    assert!(!lab.exists("h1"));
}

/// `--slice K/N` deals the inventory's hosts round-robin: four slices together do what one
/// run does, each host in exactly one of them.
#[test]
fn four_slices_make_the_same_end_state_as_one_run() {
    let lab = Lab::new();
    lab.write(
        "hosts.ini",
        "[web]\nw[1:7] ansible_connection=local\n[db]\nd[1:3] ansible_connection=local\n",
    );
    lab.write(
        "p.yml",
        "- hosts: all\n  gather_facts: no\n  tasks:\n    - file: {path: \"{{ root }}/{{ out }}\", state: directory}\n    - copy: {dest: \"{{ root }}/{{ out }}/{{ inventory_hostname }}\", content: \"{{ group_names[0] }}\"}\n",
    );
    lab.play("p.yml", &["-i", "hosts.ini", "-e", "out=whole"])
        .assert_ok();
    let mut seen = Vec::new();
    for k in 1..=4 {
        let slice = format!("{k}/4");
        let out = lab.play(
            "p.yml",
            &["-i", "hosts.ini", "-e", "out=sliced", "--slice", &slice],
        );
        out.assert_ok();
        let hosts: Vec<String> = out
            .stdout
            .lines()
            .skip_while(|l| !l.starts_with("PLAY RECAP"))
            .skip(1)
            .filter_map(|l| l.split(" : ").next().map(|h| h.trim().to_string()))
            .filter(|h| !h.is_empty())
            .collect();
        seen.extend(hosts);
    }
    seen.sort();
    assert_eq!(
        seen,
        ["d1", "d2", "d3", "w1", "w2", "w3", "w4", "w5", "w6", "w7"]
    );
    assert_eq!(lab.tree("sliced"), lab.tree("whole"));
    assert_eq!(lab.tree("whole").len(), 10);
    // Slice 2 of 4 is the inventory's 2nd, 6th and 10th host.
    let out = lab.run(&[
        "run",
        "p.yml",
        "-i",
        "hosts.ini",
        "--slice",
        "2/4",
        "--list-hosts",
    ]);
    out.assert_ok();
    assert!(
        out.stdout
            .contains("hosts (3):\n      w2\n      w6\n      d3\n"),
        "{}",
        out.stdout
    );
    lab.run(&["run", "p.yml", "-i", "hosts.ini", "--slice", "5/4"])
        .assert_code(5)
        .assert_error(&["is not a slice: write K/N"]);
}
