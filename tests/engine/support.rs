//! Runs the real `timonel` binary in a scratch directory and reads what a user would see.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Lab {
    pub dir: tempfile::TempDir,
}

#[derive(Debug)]
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Recap {
    pub ok: u32,
    pub changed: u32,
    pub unreachable: u32,
    pub failed: u32,
    pub skipped: u32,
    pub rescued: u32,
    pub ignored: u32,
}

impl Lab {
    pub fn new() -> Lab {
        Lab {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Writes a file; `{root}` in the text becomes the scratch directory.
    pub fn write(&self, rel: &str, text: &str) -> &Lab {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().expect("has parent")).expect("mkdir");
        std::fs::write(
            &p,
            text.replace("{root}", &self.root().display().to_string()),
        )
        .expect("write");
        self
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap_or_else(|e| panic!("reading {rel}: {e}"))
    }

    pub fn exists(&self, rel: &str) -> bool {
        self.path(rel).symlink_metadata().is_ok()
    }

    pub fn mode(&self, rel: &str) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(self.path(rel))
            .expect("stat")
            .permissions()
            .mode()
            & 0o7777
    }

    pub fn run(&self, args: &[&str]) -> Out {
        self.run_env(args, &[])
    }

    /// Runs with extra environment variables (HOME for a private ~/.ssh, passwords...).
    pub fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Out {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_timonel"));
        cmd.args(args)
            .current_dir(self.root())
            .env("NO_COLOR", "1")
            .env_remove("ANSIBLE_INVENTORY")
            .env_remove("SSH_AUTH_SOCK");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("run timonel");
        Out {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// `timonel run <playbook> -e root=<scratch dir> <extra>`.
    pub fn play(&self, playbook: &str, extra: &[&str]) -> Out {
        let root = format!("root={}", self.root().display());
        let mut args = vec!["run", playbook, "-e", root.as_str()];
        args.extend_from_slice(extra);
        self.run(&args)
    }

    /// Every file under `rel` with its kind, mode and content: the end state to compare.
    pub fn tree(&self, rel: &str) -> BTreeMap<String, String> {
        use std::os::unix::fs::PermissionsExt;
        fn walk(base: &Path, p: &Path, out: &mut BTreeMap<String, String>) {
            let mut entries: Vec<_> = std::fs::read_dir(p)
                .expect("read_dir")
                .filter_map(Result::ok)
                .collect();
            entries.sort_by_key(|e| e.path());
            for e in entries {
                let path = e.path();
                let rel = path
                    .strip_prefix(base)
                    .expect("under base")
                    .display()
                    .to_string();
                let meta = std::fs::symlink_metadata(&path).expect("stat");
                let mode = meta.permissions().mode() & 0o7777;
                if meta.file_type().is_symlink() {
                    out.insert(
                        rel,
                        format!(
                            "link -> {}",
                            std::fs::read_link(&path).expect("link").display()
                        ),
                    );
                } else if meta.is_dir() {
                    out.insert(rel.clone(), format!("dir {mode:04o}"));
                    walk(base, &path, out);
                } else {
                    out.insert(
                        rel,
                        format!(
                            "file {mode:04o} {}",
                            std::fs::read_to_string(&path).unwrap_or_else(|_| "<binary>".into())
                        ),
                    );
                }
            }
        }
        let mut out = BTreeMap::new();
        walk(&self.path(rel), &self.path(rel), &mut out);
        out
    }
}

impl Out {
    /// The PLAY RECAP counters of `host`; panics (showing the output) if there is none.
    pub fn recap(&self, host: &str) -> Recap {
        let line = self
            .stdout
            .lines()
            .skip_while(|l| !l.starts_with("PLAY RECAP"))
            .find(|l| l.split(" : ").next().map(str::trim) == Some(host))
            .unwrap_or_else(|| {
                panic!(
                    "no recap line for {host}\n--- stdout\n{}\n--- stderr\n{}",
                    self.stdout, self.stderr
                )
            });
        let mut r = Recap::default();
        for field in line.split(" : ").nth(1).unwrap_or("").split_whitespace() {
            let (k, v) = field.split_once('=').expect("k=v");
            let v: u32 = v.parse().expect("number");
            match k {
                "ok" => r.ok = v,
                "changed" => r.changed = v,
                "unreachable" => r.unreachable = v,
                "failed" => r.failed = v,
                "skipped" => r.skipped = v,
                "rescued" => r.rescued = v,
                "ignored" => r.ignored = v,
                other => panic!("unknown recap field {other}"),
            }
        }
        r
    }

    pub fn assert_code(&self, code: i32) -> &Out {
        assert_eq!(
            self.code, code,
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }

    pub fn assert_ok(&self) -> &Out {
        self.assert_code(0)
    }

    /// Asserts stderr mentions every fragment (file:line, the fix...) and has no panic.
    pub fn assert_error(&self, fragments: &[&str]) -> &Out {
        assert!(!self.stderr.contains("panicked"), "panic:\n{}", self.stderr);
        for f in fragments {
            assert!(
                self.stderr.contains(f),
                "stderr lacks {f:?}\n--- stderr\n{}\n--- stdout\n{}",
                self.stderr,
                self.stdout
            );
        }
        self
    }
}

pub fn recap(ok: u32, changed: u32, failed: u32, skipped: u32) -> Recap {
    Recap {
        ok,
        changed,
        failed,
        skipped,
        ..Recap::default()
    }
}

/// The port a test server (a fake API) prints as its first line, `listening PORT`.
pub fn listening_port(child: &mut std::process::Child, what: &str) -> u16 {
    use std::io::BufRead;
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("the server's stdout is piped"))
        .read_line(&mut line)
        .unwrap_or_else(|e| panic!("{what} printed nothing: {e}"));
    line.trim()
        .strip_prefix("listening ")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("{what} did not start: {line:?}"))
}

/// What a task printed: the lines after its banner, up to the next blank line.
pub fn task_output(stdout: &str, task: &str) -> String {
    let banner = format!("TASK [{task}] ");
    stdout
        .lines()
        .skip_while(|l| !l.starts_with(&banner))
        .skip(1)
        .take_while(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}
