//! The Ansible-style text on stdout: banners, one line per host result, the recap.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::Value;

use super::event::{internal_error_line, internal_error_result, Event, HostLine, Reporter};
use super::progress::Progress;
use super::shown::{censored, clean_for_display, compact, pretty};
use super::{diff, recap, warn, Status};

const RED: &str = "\x1b[0;31m";
const GREEN: &str = "\x1b[0;32m";
const YELLOW: &str = "\x1b[0;33m";
const CYAN: &str = "\x1b[0;36m";
const RESET: &str = "\x1b[0m";

pub struct Text {
    color: bool,
    verbosity: u8,
    out: Mutex<Box<dyn Write + Send>>,
    /// Lines are printed above the progress line, without tearing it.
    progress: Arc<Progress>,
    /// Set once an interrupted run printed its recap: what its ending tasks report is not shown.
    closed: AtomicBool,
}

impl Text {
    pub fn new(color: bool, verbosity: u8, progress: Arc<Progress>) -> Text {
        Text {
            color,
            verbosity,
            out: Mutex::new(Box::new(std::io::stdout())),
            progress,
            closed: AtomicBool::new(false),
        }
    }

    fn paint(&self, color: &str, s: &str) -> String {
        if self.color {
            format!("{color}{s}{RESET}")
        } else {
            s.to_string()
        }
    }

    fn write(&self, s: &str) {
        if self.closed.load(Ordering::SeqCst) {
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

    fn host(&self, l: &HostLine<'_>) {
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
            // Ansible prints a failure's error above the line, not in it.
            m.remove("exception");
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
                    match l.result.get("known_after_apply").and_then(Value::as_str) {
                        Some(why) => s.push_str(&format!(" (known after apply: {why})")),
                        None => s.push_str(" (not created yet)"),
                    }
                }
                s
            }
        };
        if l.status == Status::Failed && l.item_label.is_none() {
            text.push_str(&self.paint(RED, &failure_header(l)));
        }
        text.push_str(&self.paint(color, &line));
        text.push('\n');
        if l.ignored {
            text.push_str(&self.paint(CYAN, "...ignoring"));
            text.push('\n');
        }
        self.write(&text);
    }

    fn recap(&self, recap: &recap::Recap) {
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

/// ansible-core 2.19 says above a task's failure what failed and where the task is.
fn failure_header(l: &HostLine<'_>) -> String {
    let msg = match l.result.get("msg") {
        _ if l.no_log => None,
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::String(_)) | Some(Value::Null) | None => None,
        Some(other) => Some(other.to_string()),
    };
    let mut s = match msg {
        Some(m) if m.starts_with("Task failed") => format!("[ERROR]: {m}\n"),
        Some(m) => format!("[ERROR]: Task failed: {m}\n"),
        None => "[ERROR]: Task failed.\n".to_string(),
    };
    // Ansible also quotes the task's source lines; they may hold a secret the playbook
    // passes (an api_key, a no_log value), which timonel never prints.
    if let Some(w) = &l.where_ {
        s.push_str(&format!("Origin: {w}\n"));
    }
    s
}

impl Reporter for Text {
    fn report(&self, event: &Event<'_>) {
        match event {
            // ansible-playbook -vv names the playbook and counts its plays.
            Event::PlaybookStart { path, plays } if self.verbosity > 1 => {
                let base = path.file_name().unwrap_or_default().to_string_lossy();
                self.banner(&format!("PLAYBOOK: {base}"));
                self.write(&format!("{plays} plays in {}\n", path.display()));
            }
            Event::PlaybookStart { .. } => {}
            Event::Meta { text } if self.verbosity > 1 => self.write(&format!("META: {text}\n")),
            Event::Meta { .. } => {}
            Event::PlayStart { name } => self.banner(&format!("PLAY [{name}]")),
            Event::NoHosts => self.write("skipping: no hosts matched\n"),
            Event::TaskStart {
                name,
                handler,
                hosts: _,
            } => self.banner(&format!(
                "{} [{name}]",
                if *handler { "RUNNING HANDLER" } else { "TASK" }
            )),
            Event::HostResult(l) => self.host(l),
            Event::Included { what, host } => self.write(&format!(
                "{}\n",
                self.paint(CYAN, &format!("included: {what} for {host}"))
            )),
            Event::Retrying { host, task, left } => self.write(&format!(
                "FAILED - RETRYING: [{host}]: {task} ({left} retries left).\n"
            )),
            Event::NoMoreHosts { why, failed, size } => self.write(&format!(
                "\nNO MORE HOSTS LEFT ({why}: {failed} of {size} hosts failed) ***\n"
            )),
            Event::InternalError { host, why } => {
                let result = internal_error_result(why);
                self.host(&internal_error_line(host, &result));
            }
            Event::Interrupted => self.write("\n[ERROR]: User interrupted execution\n"),
            Event::Recap(r) => self.recap(r),
            Event::RetryFile(path) => {
                self.write(&format!("\tto retry, use: --limit @{}\n\n", path.display()))
            }
            Event::Warning(msg) => warn(self.color, msg),
            Event::HostStarted { .. } | Event::HostNote { .. } | Event::HostFinished { .. } => {}
        }
    }

    fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
    }
}
