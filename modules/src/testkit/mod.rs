//! Testing a module without a host: a scripted [`Connection`], a fake [`Controller`], and
//! [`plan`]/[`run`] helpers built on [`invoke`](crate::invoke::invoke).
//!
//! Every module reaches its host through one primitive, `Connection::exec`, so a host can be
//! replaced by a script: the commands the module should run, in order, each with the output
//! it gets back. A command nobody scripted is an error that names it, says what was
//! expected instead and lists what ran before, so a test shows exactly where a module's
//! behaviour differs from the script.
//!
//! ```
//! use timonel_modules::invoke::Mode;
//! use timonel_modules::testkit::{run, FakeFile, FileOp, Matcher, Reply, ScriptedConnection};
//! use serde_json::json;
//!
//! // The line is missing: the plan reads the file, apply writes it.
//! let conn = ScriptedConnection::new()
//!     .expect_file(FileOp::ReadStat, "/etc/hosts.allow", &FakeFile::file("sshd: ALL\n"))
//!     .expect_stdin(Matcher::write("/etc/hosts.allow"), "sshd: ALL\nALL: LOCAL\n", Reply::ok());
//! let args = json!({"path": "/etc/hosts.allow", "line": "ALL: LOCAL"});
//! let r = run("lineinfile", args, &conn, Mode::Apply).unwrap();
//! assert!(r.changed);
//! conn.assert_finished();
//! ```
//!
//! Check mode is the same script without the writes: any write would be an unexpected
//! command. Case files (`modules/tests/cases/<module>/*.yaml`) describe tests in this form
//! without Rust; see `modules/tests/cases.rs`.

mod controller;
mod files;
mod script;

pub use controller::FakeController;
pub use files::{FakeFile, FakeKind, FileOp};
pub use script::{describe, Expect, Matcher, Ran, Reply, ScriptedConnection};

use std::future::Future;

use serde_json::{Map, Value};

use crate::connection::{Connection, ExecOptions};
use crate::invoke::{invoke, Mode};
use crate::{
    ApplyContext, Controller, Host, HostView, ModResult, ModuleError, ModuleResult, Plan,
    PlanContext,
};

/// Runs a future to completion on a fresh single-threaded runtime (with timers).
fn block_on<F: Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(f)
}

/// The module and its validated arguments, as the engine has them before `invoke`. Invalid
/// arguments are a failure with the engine's message; an unknown module name panics.
fn prepare(module: &str, args: Value) -> ModResult<(&'static dyn crate::Module, crate::Args)> {
    let m = crate::registry::find(module).unwrap_or_else(|| panic!("no module named '{module}'"));
    let raw = match args {
        Value::Object(o) => o,
        Value::Null => Map::new(),
        other => panic!("module arguments must be a JSON object, not {other}"),
    };
    let args = m.spec().validate(&raw, false).map_err(|errs| {
        ModuleError::Failed(format!(
            "invalid arguments for {}: {}",
            m.spec().name,
            errs.iter()
                .map(|e| e.message.clone())
                .collect::<Vec<_>>()
                .join("; ")
        ))
    })?;
    Ok((m, args))
}

/// The plan of `module` with `args` on `conn`: what it read and decided (diff on, the
/// default [`FakeController`]). Blocking: call it from a plain `#[test]`.
pub fn plan(module: &str, args: Value, conn: &dyn Connection) -> ModResult<Plan> {
    plan_with(module, args, conn, &FakeController::new(), true)
}

/// [`plan`] with a given controller and diff flag.
pub fn plan_with(
    module: &str,
    args: Value,
    conn: &dyn Connection,
    controller: &dyn Controller,
    diff: bool,
) -> ModResult<Plan> {
    let (m, args) = prepare(module, args)?;
    let ctx = PlanContext {
        host: HostView {
            conn,
            opts: ExecOptions::default(),
        },
        diff,
        controller,
    };
    block_on(m.plan(&ctx, &args))
}

/// What the engine gets from `module` with `args` on `conn` in `mode` (diff on, the default
/// [`FakeController`]). Blocking: call it from a plain `#[test]`.
pub fn run(
    module: &str,
    args: Value,
    conn: &dyn Connection,
    mode: Mode,
) -> ModResult<ModuleResult> {
    run_with(module, args, conn, &FakeController::new(), true, mode)
}

/// [`run`] with a given controller and diff flag.
pub fn run_with(
    module: &str,
    args: Value,
    conn: &dyn Connection,
    controller: &dyn Controller,
    diff: bool,
    mode: Mode,
) -> ModResult<ModuleResult> {
    let (m, args) = prepare(module, args)?;
    let ctx = ApplyContext {
        host: Host::new(conn, ExecOptions::default()),
        diff,
        controller,
    };
    block_on(invoke(m, &ctx, &args, mode))
}

/// "done", "change" or "unknown".
pub fn plan_kind(p: &Plan) -> &'static str {
    match p {
        Plan::Done(_) => "done",
        Plan::Change { .. } => "change",
        Plan::Unknown { .. } => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::content::sha1_hex;
    use crate::hostfs::{read_script, read_stat_script, stat_script};
    use crate::{Controller, FileSource};
    use serde_json::json;

    #[test]
    fn scripted_order_and_standing_answers() {
        let conn = ScriptedConnection::new()
            .expect("true", Reply::ok())
            .always(Matcher::contains("cat"), Reply::output("x"));
        let r = run("ping", json!({}), &conn, Mode::Apply).unwrap();
        assert_eq!(r.data["ping"], "pong");
        conn.assert_finished();
        assert_eq!(conn.commands(), vec!["true"]);
    }

    #[test]
    fn an_unexpected_command_is_named_with_what_was_expected() {
        let conn = ScriptedConnection::new().expect(Matcher::contains("getent"), Reply::ok());
        let err = run("ping", json!({}), &conn, Mode::Apply).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("unexpected command #1"), "{msg}");
        assert!(msg.contains("\n  true\n"), "{msg}");
        assert!(msg.contains("containing `getent`"), "{msg}");
        let all = conn.finish().unwrap_err();
        assert!(all.contains("never ran"), "{all}");
    }

    #[test]
    fn fake_files_answer_every_file_operation() {
        let f = FakeFile::file("hello\n").mode(0o600).owner("app", 1000);
        let conn = ScriptedConnection::new()
            .expect_file(FileOp::Stat, "/srv/a b", &f)
            .expect_file(FileOp::Read, "/srv/a b", &f);
        let args = json!({"path": "/srv/a b", "get_mime": false, "get_attributes": false});
        let r = run("stat", args, &conn, Mode::Check).unwrap();
        assert_eq!(r.data["stat"]["mode"], "0600");
        assert_eq!(r.data["stat"]["pw_name"], "app");
        assert_eq!(r.data["stat"]["checksum"], sha1_hex(b"hello\n"));
        let r = run("slurp", json!({"src": "/srv/a b"}), &conn, Mode::Check).unwrap();
        assert_eq!(r.data["content"], "aGVsbG8K");
        conn.assert_finished();
    }

    #[test]
    fn a_write_and_its_content() {
        let conn = ScriptedConnection::new()
            .expect_file(FileOp::Stat, "/etc/motd", &FakeFile::absent())
            .expect_stdin(Matcher::write("/etc/motd"), "hi\n", Reply::ok());
        let args = json!({"dest": "/etc/motd", "content": "hi\n"});
        let r = run("copy", args, &conn, Mode::Apply).unwrap();
        assert!(r.changed);
        conn.assert_finished();
        assert_eq!(conn.ran()[1].stdin.as_deref(), Some(&b"hi\n"[..]));
    }

    #[test]
    fn file_operations_are_described_briefly() {
        assert_eq!(describe(&stat_script("/a b", true)), "[stat of /a b]");
        assert_eq!(describe(&read_script("/etc/x")), "[read of /etc/x]");
        assert_eq!(describe(&read_stat_script("/it's")), "[read_stat of /it's]");
        assert_eq!(describe("systemctl start x"), "systemctl start x");
    }

    #[test]
    fn controller_files_and_rendering() {
        let c = FakeController::new()
            .file("motd.j2", "welcome to {{ site }}\n")
            .var("site", "lab");
        let path = c.find_file(FileSource::Templates, "motd.j2").unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(c.render(&text, "motd.j2").unwrap(), "welcome to lab\n");
        assert!(c
            .render("{{ nope }}", "x")
            .unwrap_err()
            .contains("undefined"));
        let dir = c.dir().to_path_buf();
        drop(c);
        assert!(!dir.exists());
    }
}
