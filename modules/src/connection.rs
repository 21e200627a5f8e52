//! The one thing a module may do to a host: run a POSIX shell command.
//! Reading, writing and stat-ing files are built on top of that (see `hostfs`), so a
//! transport only has to implement `exec` to support every module.

use async_trait::async_trait;

/// Privilege escalation for one command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Become {
    pub user: String,
    pub method: String,
    pub password: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct ExecOptions {
    pub stdin: Option<Vec<u8>>,
    /// A controller file streamed to the command's stdin after `stdin`: large uploads go
    /// through in chunks instead of being held in memory.
    pub stdin_file: Option<std::path::PathBuf>,
    /// A controller file the command's stdout is streamed into (created or truncated)
    /// instead of being kept in [`ExecOutput::stdout`]: large downloads stay out of memory.
    pub stdout_file: Option<std::path::PathBuf>,
    pub become_: Option<Become>,
    pub env: Vec<(String, String)>,
    pub cwd: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct ExecOutput {
    pub rc: i32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl ExecOutput {
    pub fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
    pub fn stderr_str(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConnError {
    /// The host could not be reached or the transport broke: the host is UNREACHABLE.
    #[error("{0}")]
    Unreachable(String),
    /// The command could not be started (e.g. become failed).
    #[error("{0}")]
    Failed(String),
}

#[async_trait]
pub trait Connection: Send + Sync {
    /// Runs `cmd` with `sh -c` on the host.
    async fn exec(&self, cmd: &str, opts: &ExecOptions) -> Result<ExecOutput, ConnError>;

    /// Whether the host is the controller itself (a local connection): a module that talks
    /// to the network from the host (uri) may then do so in-process.
    fn is_local(&self) -> bool {
        false
    }

    /// Whether [`ExecOptions::stdin`] reaches the command whole or not at all: the transport
    /// frames a command with its input, so a transfer cut short runs nothing. Atomic writes
    /// then need not check on the host that all the bytes arrived (two processes per write
    /// saved on every host). A stream (`stdin_file`) is never framed.
    fn frames_stdin(&self) -> bool {
        false
    }
}

/// Quotes a string for a POSIX shell.
pub fn sh_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./=:@,+%".contains(c))
    {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The command line that runs `cmd` as another user (sudo or su).
pub fn become_command(cmd: &str, b: &Become) -> String {
    let inner = format!("sh -c {}", sh_quote(cmd));
    match b.method.as_str() {
        "su" => format!("su {} -c {}", sh_quote(&b.user), sh_quote(&inner)),
        // -k: sudo always reads the password, so it never leaks into the command's stdin.
        _ if b.password.is_some() => {
            format!("sudo -k -S -p '' -u {} -- {}", sh_quote(&b.user), inner)
        }
        _ => format!("sudo -n -u {} -- {}", sh_quote(&b.user), inner),
    }
}
