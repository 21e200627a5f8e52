//! Everything the user sees. The engine sends typed events (`Event`) to the run's reporters:
//! the Ansible-style text (text.rs), the progress line on a terminal (progress.rs) and
//! `--output json` (json.rs). Nothing in the engine formats output.

mod diff;
mod event;
mod json;
mod plan;
mod progress;
mod recap;
mod shown;
mod text;

use std::io::{IsTerminal, Write};
use std::sync::Arc;

pub use event::{Event, HostLine, Reporter};
pub use recap::{HostStats, Recap};
pub use shown::SECRET_KEYS;

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
    pub(crate) fn label(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Changed => "changed",
            Status::Failed => "failed",
            Status::Skipped => "skipping",
            Status::Unreachable => "unreachable",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Text,
    Json,
}

/// The run's reporters: every event goes to each of them, in order.
pub struct Reporters {
    list: Vec<Arc<dyn Reporter>>,
}

impl Reporters {
    /// The reporters for `--output` (text: the lines and, on a terminal, the progress line;
    /// json: one document at the end).
    pub fn new(verbosity: u8, mode: Mode) -> Reporters {
        let color = color_wanted();
        let list: Vec<Arc<dyn Reporter>> = match mode {
            Mode::Text => {
                let progress = Arc::new(progress::Progress::new(true));
                vec![
                    progress.clone(),
                    // Before the text: its summary comes before the recap.
                    Arc::new(plan::Plan::default()),
                    Arc::new(text::Text::new(color, verbosity, progress)),
                ]
            }
            Mode::Json => vec![Arc::new(json::Json::new(color))],
        };
        Reporters { list }
    }

    pub fn send(&self, event: Event<'_>) {
        for r in &self.list {
            r.report(&event);
        }
    }

    /// Nothing more is shown (the interrupted run's recap is out).
    pub fn close(&self) {
        for r in &self.list {
            r.close();
        }
    }
}

/// Colour when stdout is a terminal that wants it, or when forced as Ansible allows.
fn color_wanted() -> bool {
    let color = std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none()
        && std::env::var("TERM").map(|t| t != "dumb").unwrap_or(true);
    color
        || std::env::var_os("FORCE_COLOR").is_some()
        || std::env::var("ANSIBLE_FORCE_COLOR").is_ok_and(|v| v == "1" || v == "true")
}

/// A warning, on stderr in every output format.
fn warn(color: bool, msg: &str) {
    let line = format!("[WARNING]: {msg}");
    if color {
        eprintln!("\x1b[1;35m{line}\x1b[0m");
    } else {
        eprintln!("{line}");
    }
}
