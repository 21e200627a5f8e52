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
//! use modules::invoke::Mode;
//! use modules::testkit::{run, FakeFile, FileOp, Matcher, Reply, ScriptedConnection};
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

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::connection::{ConnError, Connection, ExecOptions, ExecOutput};
use crate::files::content::sha1_hex;
use crate::hostfs::{read_script, read_stat_script, stat_script, write_script_marks};
use crate::invoke::{invoke, Mode};
use crate::{
    ApplyContext, Controller, FileSource, Host, HostView, ModResult, ModuleError, ModuleResult,
    Plan, PlanContext,
};

/// A file operation of [`HostView`]/[`Host`], whose command the kit knows how to recognise
/// and answer (see [`FakeFile::answer`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileOp {
    /// `HostView::stat` (with or without following links).
    Stat,
    /// `HostView::read_stat`: attributes and content in one command.
    ReadStat,
    /// `HostView::read`.
    Read,
    /// `Host::write_atomic` (and a plan's scratch upload): the content arrives on stdin.
    Write,
}

/// Which command an expectation is for.
pub enum Matcher {
    /// Exactly this command line.
    Exact(String),
    /// A command line containing every one of these strings.
    Contains(Vec<String>),
    Regex(regex::Regex),
    /// The command of a file operation on `path`; for `Stat`, `follow` picks the variant
    /// (`None`: either).
    File {
        op: FileOp,
        path: String,
        follow: Option<bool>,
    },
}

impl Matcher {
    pub fn exact(s: impl Into<String>) -> Matcher {
        Matcher::Exact(s.into())
    }
    pub fn contains(s: impl Into<String>) -> Matcher {
        Matcher::Contains(vec![s.into()])
    }
    pub fn contains_all<S: Into<String>>(parts: impl IntoIterator<Item = S>) -> Matcher {
        Matcher::Contains(parts.into_iter().map(Into::into).collect())
    }
    /// Panics on an invalid expression (a broken test).
    pub fn regex(re: &str) -> Matcher {
        Matcher::Regex(
            regex::Regex::new(re).unwrap_or_else(|e| panic!("invalid regex /{re}/: {e}")),
        )
    }
    pub fn file(op: FileOp, path: impl Into<String>) -> Matcher {
        Matcher::File {
            op,
            path: path.into(),
            follow: None,
        }
    }
    pub fn stat(path: impl Into<String>) -> Matcher {
        Matcher::file(FileOp::Stat, path)
    }
    pub fn read_stat(path: impl Into<String>) -> Matcher {
        Matcher::file(FileOp::ReadStat, path)
    }
    pub fn read(path: impl Into<String>) -> Matcher {
        Matcher::file(FileOp::Read, path)
    }
    pub fn write(path: impl Into<String>) -> Matcher {
        Matcher::file(FileOp::Write, path)
    }

    pub fn matches(&self, text: &str) -> bool {
        match self {
            Matcher::Exact(s) => text == s,
            Matcher::Contains(parts) => parts.iter().all(|p| text.contains(p.as_str())),
            Matcher::Regex(re) => re.is_match(text),
            Matcher::File { op, path, follow } => match op {
                FileOp::Stat => match follow {
                    Some(f) => text == stat_script(path, *f),
                    None => text == stat_script(path, false) || text == stat_script(path, true),
                },
                FileOp::ReadStat => text == read_stat_script(path),
                FileOp::Read => text == read_script(path),
                FileOp::Write => {
                    let (start, part) = write_script_marks(path);
                    text.starts_with(&start) && text.contains(part)
                }
            },
        }
    }
}

impl From<&str> for Matcher {
    fn from(s: &str) -> Matcher {
        Matcher::exact(s)
    }
}

impl From<String> for Matcher {
    fn from(s: String) -> Matcher {
        Matcher::Exact(s)
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Matcher::Exact(s) => write!(f, "exactly `{s}`"),
            Matcher::Contains(parts) => {
                let p: Vec<String> = parts.iter().map(|p| format!("`{p}`")).collect();
                write!(f, "containing {}", p.join(" and "))
            }
            Matcher::Regex(re) => write!(f, "matching /{re}/"),
            Matcher::File { op, path, follow } => {
                let what = match (op, follow) {
                    (FileOp::Stat, Some(true)) => "stat (following links) of",
                    (FileOp::Stat, Some(false)) => "stat (not following links) of",
                    (FileOp::Stat, None) => "stat of",
                    (FileOp::ReadStat, _) => "read_stat of",
                    (FileOp::Read, _) => "read of",
                    (FileOp::Write, _) => "atomic write of",
                };
                write!(f, "{what} {path}")
            }
        }
    }
}

impl fmt::Debug for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// What a scripted command answers.
#[derive(Debug, Clone, Default)]
pub struct Reply {
    pub rc: i32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl Reply {
    /// Exit code 0, no output.
    pub fn ok() -> Reply {
        Reply::default()
    }
    /// Exit code 0 with this standard output.
    pub fn output(stdout: impl Into<Vec<u8>>) -> Reply {
        Reply::ok().with_stdout(stdout)
    }
    /// This exit code, no output.
    pub fn exit(rc: i32) -> Reply {
        Reply::ok().with_rc(rc)
    }
    pub fn with_stdout(mut self, s: impl Into<Vec<u8>>) -> Reply {
        self.stdout = s.into();
        self
    }
    pub fn with_stderr(mut self, s: impl Into<Vec<u8>>) -> Reply {
        self.stderr = s.into();
        self
    }
    pub fn with_rc(mut self, rc: i32) -> Reply {
        self.rc = rc;
        self
    }
}

/// What a path is, for [`FakeFile`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FakeKind {
    Absent,
    File,
    Directory,
    Link,
}

/// A path on the scripted host, answered in the format of whichever [`FileOp`] asks.
#[derive(Debug, Clone)]
pub struct FakeFile {
    pub kind: FakeKind,
    /// Permission bits, e.g. 0o644.
    pub mode: u32,
    pub owner: String,
    pub group: String,
    pub uid: u32,
    pub gid: u32,
    pub mtime: i64,
    pub content: Vec<u8>,
    /// A link's target. On a file or directory: the path is a link to it, as `stat -L`
    /// describes it (the target's attributes, and the `L|` line).
    pub target: String,
}

impl FakeFile {
    fn new(kind: FakeKind, mode: u32) -> FakeFile {
        FakeFile {
            kind,
            mode,
            owner: "root".into(),
            group: "root".into(),
            uid: 0,
            gid: 0,
            mtime: 1_700_000_000,
            content: vec![],
            target: String::new(),
        }
    }
    pub fn absent() -> FakeFile {
        FakeFile::new(FakeKind::Absent, 0)
    }
    /// A regular file, mode 0644, owned by root.
    pub fn file(content: impl Into<Vec<u8>>) -> FakeFile {
        FakeFile {
            content: content.into(),
            ..FakeFile::new(FakeKind::File, 0o644)
        }
    }
    /// A directory, mode 0755, owned by root.
    pub fn directory() -> FakeFile {
        FakeFile::new(FakeKind::Directory, 0o755)
    }
    pub fn link(target: impl Into<String>) -> FakeFile {
        FakeFile {
            target: target.into(),
            ..FakeFile::new(FakeKind::Link, 0o777)
        }
    }
    /// The path is a link to `target`, which this describes (what `stat -L` sees).
    pub fn via_link(mut self, target: impl Into<String>) -> FakeFile {
        self.target = target.into();
        self
    }
    pub fn mode(mut self, mode: u32) -> FakeFile {
        self.mode = mode;
        self
    }
    pub fn owner(mut self, name: &str, uid: u32) -> FakeFile {
        self.owner = name.into();
        self.uid = uid;
        self
    }
    pub fn group(mut self, name: &str, gid: u32) -> FakeFile {
        self.group = name.into();
        self.gid = gid;
        self
    }

    /// The line `stat -c '%F|%a|%U|%G|%u|%g|%s|%Y'` prints.
    fn stat_line(&self) -> String {
        let (kind, size) = match self.kind {
            FakeKind::File if self.content.is_empty() => ("regular empty file", 0),
            FakeKind::File => ("regular file", self.content.len()),
            FakeKind::Directory => ("directory", 4096),
            FakeKind::Link => ("symbolic link", self.target.len()),
            FakeKind::Absent => ("absent", 0),
        };
        format!(
            "{kind}|{:o}|{}|{}|{}|{}|{size}|{}\n",
            self.mode, self.owner, self.group, self.uid, self.gid, self.mtime
        )
    }

    /// What the command of `op` prints for this path.
    pub fn answer(&self, op: FileOp) -> Reply {
        match (op, self.kind) {
            (FileOp::Write, _) => Reply::ok(),
            (FileOp::Stat | FileOp::ReadStat, FakeKind::Absent) => Reply::output("ABSENT\n"),
            (FileOp::Read, FakeKind::Absent) => Reply::exit(3),
            (FileOp::Read, FakeKind::Directory) => {
                Reply::exit(1).with_stderr("cat: -: Is a directory\n")
            }
            (FileOp::Read, _) => Reply::output(self.content.clone()),
            (FileOp::Stat, kind) => {
                let mut out = self.stat_line();
                if kind == FakeKind::Link || !self.target.is_empty() {
                    out.push_str(&format!("L|{}\n", self.target));
                }
                if kind == FakeKind::File {
                    out.push_str(&format!("S|{}  -\n", sha1_hex(&self.content)));
                }
                Reply::output(out)
            }
            (FileOp::ReadStat, kind) => {
                let mut out = self.stat_line().into_bytes();
                if kind == FakeKind::File {
                    out.extend_from_slice(&self.content);
                }
                Reply::output(out)
            }
        }
    }
}

/// One scripted command: which command, optionally what its stdin must be, and its answer.
#[derive(Debug)]
pub struct Expect {
    pub matcher: Matcher,
    /// Checked against the command's standard input (as lossy UTF-8; none is "").
    pub stdin: Option<Matcher>,
    pub reply: Reply,
}

/// A command the connection received.
#[derive(Debug, Clone)]
pub struct Ran {
    pub cmd: String,
    pub stdin: Option<Vec<u8>>,
}

#[derive(Default)]
struct State {
    script: VecDeque<Expect>,
    standing: Vec<Expect>,
    ran: Vec<Ran>,
    problems: Vec<String>,
}

/// A [`Connection`] that answers from a script. Commands must arrive in the scripted order;
/// a command that is not next in the script may still be answered by a standing answer
/// ([`always`](Self::always): any number of times, for repeated reads). Anything else is
/// recorded as a problem and fails the command with a message naming it; [`finish`]
/// (Self::finish) reports the problems and every scripted command that never ran.
#[derive(Default)]
pub struct ScriptedConnection {
    state: Mutex<State>,
}

fn show(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(b);
    if s.chars().count() > 400 {
        format!("{:?}…", s.chars().take(400).collect::<String>())
    } else {
        format!("{s:?}")
    }
}

impl ScriptedConnection {
    pub fn new() -> ScriptedConnection {
        ScriptedConnection::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a command to the script, after those already in it.
    pub fn push(self, e: Expect) -> ScriptedConnection {
        self.lock().script.push_back(e);
        self
    }

    /// The next command matches `m` and gets `reply`.
    pub fn expect(self, m: impl Into<Matcher>, reply: Reply) -> ScriptedConnection {
        self.push(Expect {
            matcher: m.into(),
            stdin: None,
            reply,
        })
    }

    /// Like [`expect`](Self::expect), and the command's stdin must match `stdin` (a plain
    /// string matches exactly: the content of a write).
    pub fn expect_stdin(
        self,
        m: impl Into<Matcher>,
        stdin: impl Into<Matcher>,
        reply: Reply,
    ) -> ScriptedConnection {
        self.push(Expect {
            matcher: m.into(),
            stdin: Some(stdin.into()),
            reply,
        })
    }

    /// The next command is the file operation `op` on `path`, which finds `file`.
    pub fn expect_file(self, op: FileOp, path: &str, file: &FakeFile) -> ScriptedConnection {
        self.expect(Matcher::file(op, path), file.answer(op))
    }

    /// Any command matching `m`, at any point and any number of times, gets `reply`
    /// (when it is not the next scripted command).
    pub fn always(self, m: impl Into<Matcher>, reply: Reply) -> ScriptedConnection {
        self.lock().standing.push(Expect {
            matcher: m.into(),
            stdin: None,
            reply,
        });
        self
    }

    /// Every command received, in order.
    pub fn ran(&self) -> Vec<Ran> {
        self.lock().ran.clone()
    }

    /// The command lines received, in order.
    pub fn commands(&self) -> Vec<String> {
        self.lock().ran.iter().map(|r| r.cmd.clone()).collect()
    }

    /// `Err` with every problem: unexpected commands, stdin that did not match, scripted
    /// commands that never ran.
    pub fn finish(&self) -> Result<(), String> {
        let st = self.lock();
        let mut problems = st.problems.clone();
        if !st.script.is_empty() {
            let left: Vec<String> = st
                .script
                .iter()
                .map(|e| format!("  {}", e.matcher))
                .collect();
            problems.push(format!(
                "{} scripted command(s) never ran:\n{}{}",
                left.len(),
                left.join("\n"),
                ran_list(&st.ran)
            ));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("\n\n"))
        }
    }

    /// Panics with [`finish`](Self::finish)'s message.
    #[track_caller]
    pub fn assert_finished(&self) {
        if let Err(e) = self.finish() {
            panic!("{e}");
        }
    }
}

fn ran_list(ran: &[Ran]) -> String {
    if ran.is_empty() {
        return "\n  (no command ran)".into();
    }
    let mut s = String::from("\ncommands run, in order:");
    for (i, r) in ran.iter().enumerate() {
        s.push_str(&format!("\n  {}. {}", i + 1, describe(&r.cmd)));
    }
    s
}

/// A host-layer file operation's command as `[stat of /path]` (its script is long and the
/// same every time), any other command as it is.
pub fn describe(cmd: &str) -> String {
    let unquote = |q: &str| -> String {
        match q.strip_prefix('\'').and_then(|q| q.strip_suffix('\'')) {
            Some(inner) => inner.replace("'\\''", "'"),
            None => q.to_string(),
        }
    };
    let token = cmd
        .strip_prefix("p=")
        .and_then(|r| r.split_once("; ").map(|(q, _)| q))
        .or_else(|| {
            cmd.strip_prefix("if [ -e ")
                .and_then(|r| r.split_once(" ]; then cat"))
                .map(|(q, _)| q)
        });
    if let Some(path) = token.map(unquote) {
        for op in [FileOp::Stat, FileOp::ReadStat, FileOp::Read, FileOp::Write] {
            let m = Matcher::file(op, path.clone());
            if m.matches(cmd) {
                return format!("[{m}]");
            }
        }
    }
    cmd.to_string()
}

#[async_trait]
impl Connection for ScriptedConnection {
    async fn exec(&self, cmd: &str, opts: &ExecOptions) -> Result<ExecOutput, ConnError> {
        let mut st = self.lock();
        st.ran.push(Ran {
            cmd: cmd.to_string(),
            stdin: opts.stdin.clone(),
        });
        let n = st.ran.len();
        let stdin = String::from_utf8_lossy(opts.stdin.as_deref().unwrap_or_default()).into_owned();
        let found = if st.script.front().is_some_and(|e| e.matcher.matches(cmd)) {
            st.script.pop_front()
        } else {
            None
        };
        let (stdin_want, reply) = match &found {
            Some(e) => (e.stdin.as_ref(), Some(e.reply.clone())),
            None => match st.standing.iter().find(|e| e.matcher.matches(cmd)) {
                Some(e) => (e.stdin.as_ref(), Some(e.reply.clone())),
                None => (None, None),
            },
        };
        let problem = match (reply.is_some(), stdin_want) {
            (false, _) => {
                let next = match st.script.front() {
                    Some(e) => format!("the next scripted command is {}", e.matcher),
                    None => "nothing more was scripted".into(),
                };
                let standing: Vec<String> = st
                    .standing
                    .iter()
                    .map(|e| format!("  {}", e.matcher))
                    .collect();
                let standing = if standing.is_empty() {
                    String::new()
                } else {
                    format!("\nstanding answers:\n{}", standing.join("\n"))
                };
                let shown = match describe(cmd) {
                    d if d != cmd => format!("{d}\n  {cmd}"),
                    _ => cmd.to_string(),
                };
                Some(format!(
                    "unexpected command #{n} on the scripted host:\n  {shown}\n{next}{standing}{}",
                    ran_list(&st.ran[..n - 1])
                ))
            }
            (true, Some(want)) if !want.matches(&stdin) => {
                let want = match want {
                    Matcher::Exact(s) => show(s.as_bytes()),
                    other => other.to_string(),
                };
                Some(format!(
                    "command #{n} {} got stdin\n  {}\nexpected stdin\n  {want}",
                    describe(cmd),
                    show(stdin.as_bytes())
                ))
            }
            _ => None,
        };
        if let Some(p) = problem {
            st.problems.push(p.clone());
            return Err(ConnError::Failed(p));
        }
        let r = reply.unwrap_or_default();
        Ok(ExecOutput {
            rc: r.rc,
            stdout: r.stdout,
            stderr: r.stderr,
        })
    }
}

/// A [`Controller`] for tests: controller files in a temporary directory (removed on drop),
/// `render` that only substitutes `{{ name }}` from its variables, a fixed inventory name.
pub struct FakeController {
    dir: PathBuf,
    vars: Map<String, Value>,
    hostname: String,
    notes: Mutex<Vec<String>>,
}

impl Default for FakeController {
    fn default() -> FakeController {
        use std::sync::atomic::{AtomicU64, Ordering};
        static N: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "timonel-testkit-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        FakeController {
            dir,
            vars: Map::new(),
            hostname: "testhost".into(),
            notes: Mutex::new(vec![]),
        }
    }
}

impl FakeController {
    pub fn new() -> FakeController {
        FakeController::default()
    }

    /// Where controller files live (created by the first [`file`](Self::file)); also a
    /// place for what a module writes on the controller (fetch's `dest`).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Adds a controller file that `find_file` finds under `name` (any source kind).
    /// Panics if it cannot be written.
    pub fn file(self, name: &str, content: impl AsRef<[u8]>) -> FakeController {
        let path = self.dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .unwrap_or_else(|e| panic!("cannot create {}: {e}", parent.display()));
        }
        std::fs::write(&path, content)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        self
    }

    /// A variable for `render` and `eval`.
    pub fn var(mut self, name: &str, value: impl Into<Value>) -> FakeController {
        self.vars.insert(name.into(), value.into());
        self
    }

    pub fn hostname(mut self, name: &str) -> FakeController {
        self.hostname = name.into();
        self
    }

    /// The progress notes modules reported, in order.
    pub fn notes(&self) -> Vec<String> {
        self.notes.lock().map(|n| n.clone()).unwrap_or_default()
    }

    fn lookup(&self, name: &str) -> Result<&Value, String> {
        self.vars
            .get(name)
            .ok_or_else(|| format!("'{name}' is undefined"))
    }
}

impl Drop for FakeController {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Controller for FakeController {
    fn find_file(&self, _kind: FileSource, name: &str) -> Result<PathBuf, String> {
        let p = Path::new(name);
        let path = if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.dir.join(name)
        };
        if path.exists() {
            Ok(path)
        } else {
            Err(format!("could not find '{name}' on the controller"))
        }
    }

    fn render(&self, source: &str, _name: &str) -> Result<String, String> {
        let re = regex::Regex::new(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}").expect("valid");
        let mut out = String::new();
        let mut last = 0;
        for c in re.captures_iter(source) {
            let m = c.get(0).expect("whole match");
            out.push_str(&source[last..m.start()]);
            match self.lookup(&c[1])? {
                Value::String(s) => out.push_str(s),
                v => out.push_str(&v.to_string()),
            }
            last = m.end();
        }
        out.push_str(&source[last..]);
        if out.contains("{{") || out.contains("{%") {
            return Err(
                "the test kit's controller only substitutes {{ name }}; test real Jinja with the engine"
                    .into(),
            );
        }
        Ok(out)
    }

    fn eval(&self, expr: &str) -> Result<Value, String> {
        self.lookup(expr.trim()).cloned()
    }

    fn inventory_hostname(&self) -> String {
        self.hostname.clone()
    }

    fn progress(&self, note: &str) {
        if let Ok(mut n) = self.notes.lock() {
            n.push(note.to_string());
        }
    }
}

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
        let r = run("stat", json!({"path": "/srv/a b"}), &conn, Mode::Check).unwrap();
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
