//! Module cases: every `tests/cases/<module>/<case>.yaml` runs the module against a
//! scripted host (`timonel_modules::testkit`), in check mode and in apply mode.
//!
//! A case file:
//!
//! ```yaml
//! description: the line is missing, so it is added   # free text
//! args: {path: /etc/hosts.allow, line: "ALL: LOCAL"}  # the module's arguments
//! modes: [check, apply]      # which runs (default both)
//! diff: true                 # --diff (default true)
//! controller:                # the fake controller (copy, template, unarchive, fetch)
//!   files: {motd.j2: "hello {{ who }}\n"}
//!   vars: {who: world}
//!   hostname: web1           # inventory_hostname (default testhost)
//! commands:                  # what the plan runs, in order (both modes)
//!   - read_stat: /etc/hosts.allow
//!     file: {content: "sshd: ALL\n", mode: "0644"}
//! apply_commands:            # then what apply runs, in order (apply mode only)
//!   - write: /etc/hosts.allow
//!     stdin: "sshd: ALL\nALL: LOCAL\n"
//! check_commands: []         # then what check mode runs (only a scratch upload's removal)
//! always:                    # standing answers, for reads repeated any number of times
//!   - contains: "cat /proc/sys/kernel/hostname"
//!     stdout: "web1\n"
//! expect:                    # the outcome in both modes
//!   plan: change             # done | change | unknown (optional; checked with a plan-only run)
//!   changed: true            # changed, failed, skipped default to false and are always checked
//!   msg: line added          # substring of msg (null: no msg)
//!   data: {dest: /x}         # values in the result: mappings as subsets ({} is empty, null
//!                            # also a missing key), lists item by item
//!   diff: {count: 1, before: "sshd", after: ["ALL: LOCAL"]}   # substrings of the diffs
//!   error: "does not exist"  # the module fails with this (instead of a result)
//!   controller_files: {testhost/etc/motd: "hi\n"}   # files under the controller dir (null: absent)
//! check: {}                  # keys that replace expect's in check mode
//! apply: {}                  # keys that replace expect's in apply mode
//! ```
//!
//! A command is matched by one of `cmd` (exact), `contains` (a string or a list, all of
//! which must appear), `regex`, or a file operation of the host layer: `stat` (with optional
//! `follow`), `read_stat`, `read`, `write`. It answers `stdout`, `stderr` and `rc` (default 0),
//! or, for a file operation, what `file` describes: `absent`, `directory`, or a mapping with
//! `type` (file, directory, link), `content`, `mode` (a string: "0644"), `owner`, `group`,
//! `uid`, `gid`, `target` (on a file or directory: the path is a link to it, as `stat -L`
//! sees it). `stdin` (exact text, or `{contains: ...}` / `{regex: ...}`)
//! checks what the command received: the content of a write.
//!
//! Check mode gets only `commands` (and `check_commands`), so a write the module attempted in
//! check mode is an unexpected command. `$CONTROLLER_DIR` in `args` is the fake controller's
//! directory. Run one module's cases with `CASE=sysctl cargo test -p timonel-modules --test cases`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use serde_json::{Map, Value};
use timonel_modules::invoke::Mode;
use timonel_modules::testkit::{plan_kind, plan_with, run_with};
use timonel_modules::{ModResult, ModuleError, ModuleResult};

#[path = "support/format.rs"]
mod format;
#[path = "support/yaml.rs"]
mod yaml;

use format::{strings, substitute, Case};

/// The modules that act on a host through the connection: each needs cases.
const HOST_MODULES: &[&str] = &[
    "file",
    "copy",
    "template",
    "lineinfile",
    "blockinfile",
    "replace",
    "stat",
    "slurp",
    "fetch",
    "get_url",
    "uri",
    "ini_file",
    "unarchive",
    "apt",
    "apt_key",
    "apt_repository",
    "deb822_repository",
    "dpkg_selections",
    "package_facts",
    "pip",
    "user",
    "group",
    "service",
    "systemd_service",
    "sysctl",
    "ufw",
    "modprobe",
    "mount",
    "hostname",
    "timezone",
    "git",
    "locale_gen",
    "service_facts",
    "reboot",
    "command",
    "shell",
    "raw",
    "wait_for",
    "ping",
    "kubeadm_init",
    "kubeadm_join",
];

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases")
}

/// Every case file, as (module directory, path), sorted.
fn case_files() -> Vec<(String, PathBuf)> {
    let mut out = vec![];
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(cases_dir())
        .expect("tests/cases exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    for d in dirs {
        let module = d
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut files: Vec<PathBuf> = std::fs::read_dir(&d)
            .expect("a case directory")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
            .collect();
        files.sort();
        out.extend(files.into_iter().map(|f| (module.clone(), f)));
    }
    out
}

#[test]
fn cases() {
    let filter = std::env::var("CASE").ok();
    let started = std::time::Instant::now();
    let jobs: Vec<(String, PathBuf, String)> = case_files()
        .into_iter()
        .map(|(module, path)| {
            let rel = path
                .strip_prefix(Path::new(env!("CARGO_MANIFEST_DIR")))
                .unwrap_or(&path)
                .display()
                .to_string();
            (module, path, rel)
        })
        .filter(|(_, _, rel)| filter.as_ref().is_none_or(|f| rel.contains(f.as_str())))
        .collect();
    // Cases are independent (each run has its own host, controller and runtime): run them
    // on a few threads, so the ones that really sleep (reboot, wait_for) cost no more.
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, usize, Vec<String>)>> = Mutex::new(vec![]);
    let workers = std::thread::available_parallelism().map_or(4, |n| n.get().min(8));
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((module, path, rel)) = jobs.get(i) else {
                    break;
                };
                let (runs, errs) = match std::panic::catch_unwind(|| run_case(module, path)) {
                    Ok(r) => r,
                    Err(p) => {
                        let msg = p
                            .downcast_ref::<String>()
                            .cloned()
                            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                            .unwrap_or_default();
                        (0, vec![format!("panicked: {msg}")])
                    }
                };
                let errs = errs.into_iter().map(|e| format!("{rel}: {e}")).collect();
                if let Ok(mut r) = results.lock() {
                    r.push((i, runs, errs));
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap_or_default();
    results.sort_by_key(|r| r.0);
    let runs: usize = results.iter().map(|r| r.1).sum();
    let failures: Vec<String> = results.into_iter().flat_map(|r| r.2).collect();
    let mut per_module: BTreeMap<&str, usize> = BTreeMap::new();
    for (m, _, _) in &jobs {
        *per_module.entry(m).or_default() += 1;
    }
    println!(
        "{} cases, {runs} runs in {:.2?}",
        jobs.len(),
        started.elapsed()
    );
    for (m, n) in &per_module {
        println!("  {m:<20} {n}");
    }
    assert!(!jobs.is_empty(), "no case matched CASE={filter:?}");
    if !failures.is_empty() {
        panic!(
            "{} failure(s) in module cases:\n\n{}\n",
            failures.len(),
            failures.join("\n\n")
        );
    }
}

#[test]
fn every_host_module_has_cases() {
    let files = case_files();
    let mut missing = vec![];
    for m in HOST_MODULES {
        let n = files.iter().filter(|(d, _)| d == m).count();
        if n < 3 {
            missing.push(format!("{m} ({n} cases)"));
        }
    }
    assert!(
        missing.is_empty(),
        "host modules with fewer than 3 cases in tests/cases: {}",
        missing.join(", ")
    );
    for (d, _) in &files {
        assert!(
            timonel_modules::registry::find(d).is_some(),
            "tests/cases/{d} is not named after a module"
        );
    }
}

/// Is every value of `want` in `got`? Objects are compared as subsets (`{}` only matches an
/// empty object, `null` also a missing key), lists item by item (same length), everything
/// else for equality.
fn subset(want: &Value, got: &Value) -> bool {
    match (want, got) {
        (Value::Object(w), Value::Object(g)) if w.is_empty() => g.is_empty(),
        (Value::Object(w), Value::Object(g)) => w.iter().all(|(k, v)| match g.get(k) {
            Some(gv) => subset(v, gv),
            None => v.is_null(),
        }),
        (Value::Array(w), Value::Array(g)) => {
            w.len() == g.len() && w.iter().zip(g).all(|(a, b)| subset(a, b))
        }
        _ => want == got,
    }
}

fn mode_name(m: Mode) -> &'static str {
    match m {
        Mode::Check => "check",
        Mode::Apply => "apply",
    }
}

/// Runs one case file in each of its modes; the number of runs and the failures.
fn run_case(dir_module: &str, path: &Path) -> (usize, Vec<String>) {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => return (0, vec![format!("cannot read: {e}")]),
    };
    let case = match yaml::load(&text).and_then(|d| Case::parse(dir_module, d)) {
        Ok(c) => c,
        Err(e) => return (0, vec![e]),
    };
    let mut failures = vec![];
    let mut runs = 0;
    if let Some(want) = case.expect.get("plan") {
        runs += 1;
        if let Err(e) = plan_only(&case, want) {
            failures.push(format!("[plan] {e}"));
        }
    }
    for &mode in &case.modes {
        runs += 1;
        let over = match mode {
            Mode::Check => &case.check,
            Mode::Apply => &case.apply,
        };
        let mut exp = case.expect.clone();
        exp.remove("plan");
        for (k, v) in over {
            exp.insert(k.clone(), v.clone());
        }
        if let Err(e) = run_mode(&case, mode, &exp) {
            failures.push(format!("[{}] {e}", mode_name(mode)));
        }
    }
    (runs, failures)
}

fn plan_only(case: &Case, want: &Value) -> Result<(), String> {
    let ctrl = case.controller();
    let conn = case.host(&[])?;
    let args = substitute(&case.args, &ctrl.dir().display().to_string());
    let p = plan_with(&case.module, args, &conn, &ctrl, case.diff)
        .map_err(|e| format!("the plan failed: {e}"))?;
    if Some(plan_kind(&p)) != want.as_str() {
        return Err(format!("the plan is {}, expected {want}", plan_kind(&p)));
    }
    conn.finish()
}

fn run_mode(case: &Case, mode: Mode, exp: &Map<String, Value>) -> Result<(), String> {
    let ctrl = case.controller();
    let more = match mode {
        Mode::Check => &case.check_commands,
        Mode::Apply => &case.apply_commands,
    };
    let conn = case.host(more)?;
    let args = substitute(&case.args, &ctrl.dir().display().to_string());
    let res = run_with(&case.module, args, &conn, &ctrl, case.diff, mode);
    let script = conn.finish();
    // An unexpected command is the module's error too: say it once.
    let from_script = matches!((&res, &script), (Err(e), Err(s)) if s.contains(&e.to_string()));
    let mut problems = if from_script {
        vec![]
    } else {
        outcome_problems(&res, exp)
    };
    if let Some(files) = exp.get("controller_files") {
        let Value::Object(files) = files else {
            return Err("controller_files must be a mapping".into());
        };
        for (rel, want) in files {
            let got = std::fs::read_to_string(ctrl.dir().join(rel)).ok();
            if got.as_deref() != want.as_str() {
                problems.push(format!("controller file {rel} is {got:?}, expected {want}"));
            }
        }
    }
    if let Err(e) = script {
        problems.push(e);
    }
    if problems.is_empty() {
        Ok(())
    } else {
        let shown = match &res {
            Err(_) if from_script => String::new(),
            Ok(r) => format!(
                "\n  result: changed={} failed={} skipped={} msg={:?}\n  data: {}\n  diffs: {:?}",
                r.changed,
                r.failed,
                r.skipped,
                r.msg,
                Value::Object(r.data.clone()),
                r.diffs
            ),
            Err(e) => format!("\n  module error: {e}"),
        };
        Err(format!("{}{shown}", problems.join("\n")))
    }
}

fn outcome_problems(res: &ModResult<ModuleResult>, exp: &Map<String, Value>) -> Vec<String> {
    let mut p = vec![];
    let r = match (res, exp.get("error").and_then(Value::as_str)) {
        (Err(ModuleError::Failed(m)), Some(want)) => {
            if !m.contains(want) {
                p.push(format!("the error does not contain {want:?}"));
            }
            return p;
        }
        (Err(e), _) => {
            p.push(format!("the module failed: {e}"));
            return p;
        }
        (Ok(_), Some(want)) => {
            p.push(format!("expected the module to fail with {want:?}"));
            return p;
        }
        (Ok(r), None) => r,
    };
    let flag = |k: &str| exp.get(k).and_then(Value::as_bool).unwrap_or(false);
    for (k, got) in [
        ("changed", r.changed),
        ("failed", r.failed),
        ("skipped", r.skipped),
    ] {
        if flag(k) != got {
            p.push(format!("{k} is {got}, expected {}", flag(k)));
        }
    }
    match (exp.get("msg"), &r.msg) {
        (None, _) | (Some(Value::Null), None) => {}
        (Some(Value::Null), Some(m)) => p.push(format!("msg is {m:?}, expected none")),
        (Some(want), got) => {
            let want = want.as_str().unwrap_or_default();
            if !got.as_deref().is_some_and(|g| g.contains(want)) {
                p.push(format!("msg {got:?} does not contain {want:?}"));
            }
        }
    }
    if let Some(want) = exp.get("data") {
        let got = Value::Object(r.data.clone());
        if let Value::Object(w) = want {
            for (k, v) in w {
                if !subset(
                    &Value::Object(Map::from_iter([(k.clone(), v.clone())])),
                    &got,
                ) {
                    p.push(format!(
                        "data.{k} is {}, expected {v}",
                        got.get(k).cloned().unwrap_or(Value::Null)
                    ));
                }
            }
        }
    }
    if let Some(Value::Object(d)) = exp.get("diff") {
        if let Some(n) = d.get("count").and_then(Value::as_u64) {
            if r.diffs.len() as u64 != n {
                p.push(format!("{} diffs, expected {n}", r.diffs.len()));
            }
        }
        let all = |f: &dyn Fn(&timonel_modules::FileDiff) -> String| -> String {
            r.diffs.iter().map(f).collect::<Vec<_>>().join("\n")
        };
        let fields: [(&str, String); 3] = [
            ("before", all(&|d| d.before.clone())),
            ("after", all(&|d| d.after.clone())),
            (
                "header",
                all(&|d| format!("{}\n{}", d.before_header, d.after_header)),
            ),
        ];
        for (k, text) in fields {
            if let Some(v) = d.get(k) {
                for s in strings(v).unwrap_or_default() {
                    if !text.contains(&s) {
                        p.push(format!("the diffs' {k} text does not contain {s:?}"));
                    }
                }
            }
        }
    }
    p
}
