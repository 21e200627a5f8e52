//! Our Ansible-compatibility sample: each folder of tests/compat holds a playbook and what
//! real ansible-playbook did with it (tests/compat/record): the recaps of a --check run on a
//! fresh directory, a first and a second run, the exit codes, and the final file tree.
//! timonel must give the same, line for line.

use std::path::{Path, PathBuf};
use std::process::Command;

fn compat_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/compat")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

fn recap_lines(stdout: &str) -> Vec<String> {
    let mut lines: Vec<String> = stdout
        .lines()
        .skip_while(|l| !l.starts_with("PLAY RECAP"))
        .filter(|l| l.contains(" : "))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    lines.sort();
    lines
}

fn replay(case: &Path) -> String {
    let work = tempfile::tempdir().unwrap();
    copy_dir(case, work.path());
    let out_dir = work.path().join("out");
    let mut report = vec![];
    for phase in ["check", "run1", "run2"] {
        if phase == "run1" {
            let _ = std::fs::remove_dir_all(&out_dir);
        }
        std::fs::create_dir_all(&out_dir).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_timonel"));
        cmd.args([
            "run",
            "playbook.yml",
            "-e",
            &format!("root={}", out_dir.display()),
        ])
        .current_dir(work.path())
        .env("NO_COLOR", "1");
        if work.path().join("hosts").exists() {
            cmd.args(["-i", "hosts"]);
        }
        if phase == "check" {
            cmd.arg("--check");
        }
        let out = cmd.output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            !String::from_utf8_lossy(&out.stderr).contains("panicked"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        report.push(format!("{phase} exit={}", out.status.code().unwrap_or(-1)));
        let recap = recap_lines(&stdout);
        assert!(
            !recap.is_empty(),
            "no recap in {phase} of {}:\n{stdout}\n{}",
            case.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        report.extend(recap);
    }
    report.push("tree".into());
    let tree = Command::new("sh")
        .arg(compat_dir().join("tree.sh"))
        .arg(&out_dir)
        .output()
        .unwrap();
    report.extend(
        String::from_utf8_lossy(&tree.stdout)
            .lines()
            .map(str::to_string),
    );
    report.join("\n") + "\n"
}

#[test]
fn same_results_as_ansible() {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(compat_dir())
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join("ansible.expected").is_file())
        .collect();
    cases.sort();
    assert!(cases.len() >= 5, "compat cases missing: {cases:?}");
    let mut failures = vec![];
    for case in &cases {
        let expected = std::fs::read_to_string(case.join("ansible.expected")).unwrap();
        let expected: String = expected
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| format!("{l}\n"))
            .collect();
        let got = replay(case);
        if got != expected {
            let diff = similar::TextDiff::from_lines(&expected, &got)
                .unified_diff()
                .header("ansible", "timonel")
                .to_string();
            failures.push(format!(
                "case {}:\n{diff}",
                case.file_name().unwrap().to_string_lossy()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
