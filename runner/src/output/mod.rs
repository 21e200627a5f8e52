//! Everything the user sees. The engine emits events; this layer draws them as Ansible-style
//! lines (or collects them for `--output json`).

mod diff;
mod progress;
mod recap;

use std::io::{IsTerminal, Write};
use std::sync::Mutex;

use serde_json::{json, Map, Value};

use modules::FileDiff;
pub use recap::{HostStats, Recap};

/// Writes to stdout for commands that print and stop (doc, inventory, --list-tasks...). When
/// stdout is a pipe whose reader is gone (`timonel doc | head -1`), the process ends the way
/// SIGPIPE ends other command-line tools: quietly, with no panic and no message.
pub fn stdout(text: &str) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            stdout_closed();
        }
        eprintln!("error: cannot write to stdout: {e}");
        std::process::exit(1);
    }
}

/// The reader of stdout (or stderr) is gone: end as SIGPIPE ends `cat` or `ls`, silently
/// (a shell reports status 141).
pub fn stdout_closed() -> ! {
    // Rust ignores SIGPIPE; take the default action back and raise it.
    // SAFETY: plain libc calls with valid constants.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        libc::raise(libc::SIGPIPE);
    }
    std::process::exit(141);
}

/// `println!` through `output::stdout`.
#[macro_export]
macro_rules! outln {
    () => { $crate::output::stdout("\n") };
    ($($arg:tt)*) => { $crate::output::stdout(&format!("{}\n", format_args!($($arg)*))) };
}

/// `print!` through `output::stdout`.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => { $crate::output::stdout(&format!($($arg)*)) };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    Changed,
    Failed,
    Skipped,
    Unreachable,
}

impl Status {
    fn label(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Changed => "changed",
            Status::Failed => "failed",
            Status::Skipped => "skipping",
            Status::Unreachable => "unreachable",
        }
    }
}

/// One host's result for a task (or one loop item).
pub struct HostLine<'a> {
    pub host: &'a str,
    pub delegated: Option<&'a str>,
    pub status: Status,
    pub item_label: Option<String>,
    pub result: &'a Map<String, Value>,
    pub diffs: &'a [FileDiff],
    pub ignored: bool,
    pub where_: Option<String>,
    pub no_log: bool,
    /// debug results are always shown, like Ansible does.
    pub show_result: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Text,
    Json,
}

pub struct Printer {
    color: bool,
    pub verbosity: u8,
    mode: Mode,
    out: Mutex<Box<dyn Write + Send>>,
    json_plays: Mutex<Vec<Value>>,
    pub progress: progress::Progress,
    /// Set once an interrupted run printed its recap: what its ending tasks report is not shown.
    closed: std::sync::atomic::AtomicBool,
}

const RED: &str = "\x1b[0;31m";
const GREEN: &str = "\x1b[0;32m";
const YELLOW: &str = "\x1b[0;33m";
const CYAN: &str = "\x1b[0;36m";
const RESET: &str = "\x1b[0m";

/// What a no_log task's result shows, in every output: Ansible's words and whether it changed.
fn censored(result: &Map<String, Value>) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert(
        "censored".into(),
        Value::String(
            "the output has been hidden due to the fact that 'no_log: true' was specified for this result"
                .into(),
        ),
    );
    m.insert(
        "changed".into(),
        result.get("changed").cloned().unwrap_or(Value::Bool(false)),
    );
    m
}

impl Printer {
    pub fn new(verbosity: u8, mode: Mode) -> Printer {
        let color = std::io::stdout().is_terminal()
            && std::env::var_os("NO_COLOR").is_none()
            && std::env::var("TERM").map(|t| t != "dumb").unwrap_or(true);
        let color = color
            || std::env::var_os("FORCE_COLOR").is_some()
            || std::env::var("ANSIBLE_FORCE_COLOR").is_ok_and(|v| v == "1" || v == "true");
        Printer {
            color,
            verbosity,
            mode,
            out: Mutex::new(Box::new(std::io::stdout())),
            json_plays: Mutex::new(vec![]),
            progress: progress::Progress::new(mode == Mode::Text),
            closed: Default::default(),
        }
    }

    fn paint(&self, color: &str, s: &str) -> String {
        if self.color {
            format!("{color}{s}{RESET}")
        } else {
            s.to_string()
        }
    }

    /// Nothing more is printed (the interrupted run's recap is out).
    pub fn close(&self) {
        self.closed.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn write(&self, s: &str) {
        if self.mode == Mode::Json || self.closed.load(std::sync::atomic::Ordering::SeqCst) {
            return;
        }
        self.progress.suspend(|| {
            if let Ok(mut o) = self.out.lock() {
                let _ = o.write_all(s.as_bytes());
                let _ = o.flush();
            }
        });
    }

    fn banner(&self, s: &str) {
        let stars = 79usize.saturating_sub(s.chars().count()).max(3);
        self.write(&format!("\n{} {}\n", s, "*".repeat(stars)));
    }

    pub fn play(&self, name: &str) {
        self.banner(&format!("PLAY [{name}]"));
        if let Ok(mut p) = self.json_plays.lock() {
            p.push(json!({"play": {"name": name}, "tasks": []}));
        }
    }

    pub fn task(&self, name: &str, handler: bool, hosts: usize) {
        self.banner(&format!(
            "{} [{name}]",
            if handler { "RUNNING HANDLER" } else { "TASK" }
        ));
        self.progress.task(name, hosts);
        if let Ok(mut p) = self.json_plays.lock() {
            if let Some(Value::Array(tasks)) = p.last_mut().and_then(|pl| pl.get_mut("tasks")) {
                tasks.push(json!({"task": {"name": name}, "hosts": {}}));
            }
        }
    }

    /// A play whose pattern matched no host.
    pub fn no_hosts(&self) {
        self.write("skipping: no hosts matched\n");
    }

    /// `until` not met yet: the task runs again.
    pub fn retrying(&self, host: &str, task: &str, left: i64) {
        self.write(&format!(
            "FAILED - RETRYING: [{host}]: {task} ({left} retries left).\n"
        ));
    }

    /// A play stopped by any_errors_fatal or max_fail_percentage.
    pub fn no_more_hosts(&self, why: &str, failed: usize, size: usize) {
        self.write(&format!(
            "\nNO MORE HOSTS LEFT ({why}: {failed} of {size} hosts failed) ***\n"
        ));
    }

    /// A host whose run hit a bug in timonel: shown as its failure, in every output.
    pub fn internal_error(&self, host: &str, why: &str) {
        let mut result = Map::new();
        result.insert(
            "msg".into(),
            Value::String(format!(
                "internal error in timonel (a bug, please report it): {why}"
            )),
        );
        self.host(HostLine {
            host,
            delegated: None,
            status: Status::Failed,
            item_label: None,
            result: &result,
            diffs: &[],
            ignored: false,
            where_: None,
            no_log: false,
            show_result: false,
        });
    }

    /// Where the failed hosts were written, for `--limit @file`.
    pub fn retry_hint(&self, path: &std::path::Path) {
        self.write(&format!("\tto retry, use: --limit @{}\n\n", path.display()));
    }

    pub fn warn(&self, msg: &str) {
        let line = self.paint("\x1b[1;35m", &format!("[WARNING]: {msg}"));
        eprintln!("{line}");
    }

    pub fn included(&self, file: &str, host: &str) {
        self.write(&format!(
            "{}\n",
            self.paint(CYAN, &format!("included: {file} for {host}"))
        ));
    }

    pub fn host(&self, l: HostLine<'_>) {
        self.record_json(&l);
        let (color, mut head) = match l.status {
            Status::Ok => (GREEN, "ok".to_string()),
            Status::Changed => (YELLOW, "changed".to_string()),
            Status::Skipped => (CYAN, "skipping".to_string()),
            Status::Failed if l.item_label.is_some() => (RED, "failed".to_string()),
            Status::Failed => (RED, "fatal".to_string()),
            Status::Unreachable => (RED, "fatal".to_string()),
        };
        head.push_str(&format!(": [{}", l.host));
        if let Some(d) = l.delegated.filter(|d| *d != l.host) {
            head.push_str(&format!(" -> {d}"));
        }
        head.push(']');
        let mut text = String::new();
        // A no_log task's diff shows the content it hides, so it is not shown (as Ansible).
        if !l.no_log {
            for d in l.diffs {
                text.push_str(&diff::render(d, self.color));
            }
        }
        let shown = if l.no_log {
            Value::Object(censored(l.result))
        } else {
            let mut m = clean_for_display(l.result);
            m.remove("failed");
            m.remove("check_mode");
            if l.show_result {
                m.remove("changed");
            }
            Value::Object(m)
        };
        let line = match l.status {
            Status::Failed | Status::Unreachable => {
                let tag = if l.status == Status::Unreachable {
                    "UNREACHABLE!"
                } else {
                    "FAILED!"
                };
                let item = l
                    .item_label
                    .as_ref()
                    .map(|i| format!(" (item={i})"))
                    .unwrap_or_default();
                let sep = if l.item_label.is_some() { "" } else { ":" };
                format!("{head}{sep}{item} {tag} => {}", compact(&shown))
            }
            _ => {
                let mut s = head;
                if let Some(i) = &l.item_label {
                    s.push_str(&format!(" => (item={i})"));
                }
                if l.show_result || self.verbosity > 0 {
                    s.push_str(&format!(" => {}", pretty(&shown)));
                } else if l.result.get("planned") == Some(&Value::Bool(true)) {
                    // A host --check did not create (exec/planned.rs).
                    s.push_str(" (known after apply: not created yet)");
                }
                s
            }
        };
        text.push_str(&self.paint(color, &line));
        text.push('\n');
        if matches!(l.status, Status::Failed) {
            if let Some(w) = &l.where_ {
                text.push_str(&self.paint(RED, &format!("  task defined at {w}")));
                text.push('\n');
            }
        }
        if l.ignored {
            text.push_str(&self.paint(CYAN, "...ignoring"));
            text.push('\n');
        }
        self.write(&text);
    }

    fn record_json(&self, l: &HostLine<'_>) {
        if self.mode != Mode::Json {
            return;
        }
        if let Ok(mut p) = self.json_plays.lock() {
            if let Some(Value::Array(tasks)) = p.last_mut().and_then(|pl| pl.get_mut("tasks")) {
                if let Some(Value::Object(hosts)) =
                    tasks.last_mut().and_then(|t| t.get_mut("hosts"))
                {
                    let mut r = if l.no_log {
                        censored(l.result)
                    } else {
                        hide_secrets(l.result)
                    };
                    r.insert("status".into(), Value::String(l.status.label().into()));
                    if l.ignored {
                        r.insert("ignored".into(), Value::Bool(true));
                    }
                    match hosts.get_mut(l.host) {
                        Some(Value::Array(items)) => items.push(Value::Object(r)),
                        _ if l.item_label.is_some() => {
                            hosts.insert(l.host.to_string(), Value::Array(vec![Value::Object(r)]));
                        }
                        _ => {
                            hosts.insert(l.host.to_string(), Value::Object(r));
                        }
                    }
                }
            }
        }
    }

    pub fn recap(&self, recap: &Recap) {
        self.progress.done();
        if self.mode == Mode::Json {
            let plays = self
                .json_plays
                .lock()
                .map(|p| p.clone())
                .unwrap_or_default();
            let out = json!({"plays": plays, "stats": recap.to_json()});
            // After a run, a closed stdout must not take the run's exit code away.
            let text = serde_json::to_string_pretty(&out).unwrap_or_default();
            let mut o = std::io::stdout().lock();
            let _ = writeln!(o, "{text}").and_then(|()| o.flush());
            return;
        }
        self.banner("PLAY RECAP");
        let mut s = String::new();
        for (host, st) in recap.hosts() {
            s.push_str(&recap::line(host, st, self.color));
            s.push('\n');
        }
        self.write(&s);
        self.write("\n");
    }
}

/// The key under which a result lists its secret values (a module's `with_secret`).
pub const SECRET_KEYS: &str = "_timonel_secret";

/// A result with its secret values (a join token, a kubeconfig) shown as hidden: they are
/// registered, never printed, in any output.
fn hide_secrets(r: &Map<String, Value>) -> Map<String, Value> {
    let secret: Vec<&str> = r
        .get(SECRET_KEYS)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    r.iter()
        .filter(|(k, _)| *k != SECRET_KEYS)
        .map(|(k, v)| {
            let v = if secret.contains(&k.as_str()) {
                Value::String("(hidden)".into())
            } else {
                v.clone()
            };
            (k.clone(), v)
        })
        .collect()
}

/// Internal keys are not shown to the user, nor secret values.
fn clean_for_display(r: &Map<String, Value>) -> Map<String, Value> {
    hide_secrets(r)
        .into_iter()
        .filter(|(k, _)| !k.starts_with("_ansible") && *k != "diff")
        .collect()
}

/// Keys sorted, as Ansible prints results.
fn sorted(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sorted(&m[k])))
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

fn compact(v: &Value) -> String {
    crate::pyfmt::json(&sorted(v))
}

fn pretty(v: &Value) -> String {
    let v = &sorted(v);
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    let _ = serde::Serialize::serialize(v, &mut ser);
    String::from_utf8_lossy(&buf).into_owned()
}

#[cfg(test)]
mod secret_tests {
    use super::*;

    #[test]
    fn secret_values_are_hidden_and_the_rest_shown() {
        let r = json!({"token": "abcdef.0123456789abcdef", "endpoint": "lb:6443",
                       SECRET_KEYS: ["token"]});
        let shown = clean_for_display(r.as_object().unwrap());
        assert_eq!(shown["token"], "(hidden)");
        assert_eq!(shown["endpoint"], "lb:6443");
        assert!(!shown.contains_key(SECRET_KEYS));
    }
}
