//! What the engine tells the user about: typed events, and the reporters that draw them.
//! The engine formats nothing; each reporter (the Ansible-style text, the progress line,
//! `--output json`) decides what an event looks like, or ignores it.

use std::path::Path;

use serde_json::{Map, Value};

use timonel_modules::FileDiff;

use super::{Recap, Status};

/// One host's result for a task (or one loop item).
pub struct HostLine<'a> {
    pub host: &'a str,
    pub delegated: Option<&'a str>,
    pub status: Status,
    pub item_label: Option<String>,
    pub result: &'a Map<String, Value>,
    pub diffs: &'a [FileDiff],
    pub ignored: bool,
    pub where_: Option<crate::diag::Pos>,
    pub no_log: bool,
    /// debug results are always shown, like Ansible does.
    pub show_result: bool,
}

/// Something that happened in the run, in the order it happened.
pub enum Event<'a> {
    /// What a meta task did (or that its condition was false), as ansible-playbook -vv says.
    Meta { text: &'a str },
    /// A playbook begins: its path and how many plays it has (imports included).
    PlaybookStart { path: &'a Path, plays: usize },
    /// A play begins (before its hosts are known to match).
    PlayStart { name: &'a str },
    /// The play's pattern matched no host.
    NoHosts,
    /// A task (or handler) begins on `hosts` hosts.
    TaskStart {
        name: &'a str,
        handler: bool,
        hosts: usize,
    },
    /// A host starts running the current task.
    HostStarted { host: &'a str },
    /// What a host's module is doing now (e.g. "create_server 40%").
    HostNote { host: &'a str, note: &'a str },
    /// A host is done with the current task (its result follows or came before).
    HostFinished { host: &'a str },
    /// A host's result: its status, result, changes and diffs.
    HostResult(HostLine<'a>),
    /// An include_tasks / include_role brought in a file or role for a host.
    Included { what: &'a str, host: &'a str },
    /// `until` not met yet: the task runs again.
    Retrying {
        host: &'a str,
        task: &'a str,
        left: i64,
    },
    /// A play stopped by any_errors_fatal or max_fail_percentage.
    NoMoreHosts {
        why: &'a str,
        failed: usize,
        size: usize,
    },
    /// A host's run hit a bug in timonel: shown as its failure, in every output.
    InternalError { host: &'a str, why: &'a str },
    /// Ctrl-C or SIGTERM ended the run; the recap follows.
    Interrupted,
    /// The run's counters, once at the end.
    Recap(&'a Recap),
    /// Where the failed hosts were written, for `--limit @file`.
    RetryFile(&'a Path),
    /// Something the user should know that is not a host's result.
    Warning(&'a str),
}

/// Draws events. Reporters are called in turn, from any task; each keeps its own state.
pub trait Reporter: Send + Sync {
    fn report(&self, event: &Event<'_>);

    /// Nothing more is shown (an interrupted run's recap is out).
    fn close(&self) {}
}

/// The host line an internal error is shown as.
pub(super) fn internal_error_result(why: &str) -> Map<String, Value> {
    let mut result = Map::new();
    result.insert(
        "msg".into(),
        Value::String(format!(
            "internal error in timonel (a bug, please report it): {why}"
        )),
    );
    result
}

/// An internal error as the host result every reporter shows.
pub(super) fn internal_error_line<'a>(
    host: &'a str,
    result: &'a Map<String, Value>,
) -> HostLine<'a> {
    HostLine {
        host,
        delegated: None,
        status: Status::Failed,
        item_label: None,
        result,
        diffs: &[],
        ignored: false,
        where_: None,
        no_log: false,
        show_result: false,
    }
}
