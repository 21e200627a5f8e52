//! The scripted connection: expected commands in order, their answers, and what ran.

use std::collections::VecDeque;
use std::fmt;
use std::sync::Mutex;

use async_trait::async_trait;

use crate::connection::{ConnError, Connection, ExecOptions, ExecOutput};
use crate::hostfs::{read_script, read_stat_script, stat_script, write_script_marks};

use super::files::{FakeFile, FileOp};

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
        // A streamed controller file is what arrives on stdin, as on a real host.
        let given = match &opts.stdin_file {
            Some(f) => {
                let mut all = opts.stdin.clone().unwrap_or_default();
                all.extend(std::fs::read(f).map_err(|e| ConnError::Failed(e.to_string()))?);
                Some(all)
            }
            None => opts.stdin.clone(),
        };
        let mut st = self.lock();
        st.ran.push(Ran {
            cmd: cmd.to_string(),
            stdin: given.clone(),
        });
        let n = st.ran.len();
        let stdin = String::from_utf8_lossy(given.as_deref().unwrap_or_default()).into_owned();
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
        let stdout = match &opts.stdout_file {
            Some(f) => {
                std::fs::write(f, &r.stdout).map_err(|e| ConnError::Failed(e.to_string()))?;
                Vec::new()
            }
            None => r.stdout,
        };
        Ok(ExecOutput {
            rc: r.rc,
            stdout,
            stderr: r.stderr,
        })
    }
}
