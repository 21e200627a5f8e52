//! One long-lived `sh` per channel, running commands one after another. Each command is
//! framed by a random end marker on stdout and stderr, so its output, exit code and the end
//! of its stderr are known without a new channel (and a new login shell) per command.
//!
//! ```text
//! {
//! printf '%s:%s\n' M_P "$$" >&2                              (the shell's process group)
//! base64 -d <<'M_IN' | ( eval 'cd DIR; export K=v; CMD' )     (stdin only when there is any)
//! <stdin, base64>
//! M_IN
//! } ; r=$?; printf '\nM:%d\n' "$r"; printf '\nM\n' >&2
//! ```

use std::sync::Arc;

use base64::Engine;
use russh::client::{Handle, Msg};
use russh::{ChannelMsg, ChannelWriteHalf};
use tokio::sync::mpsc;

use timonel_modules::connection::sh_quote;
use timonel_modules::{ExecOptions, ExecOutput};

pub enum Chunk {
    Out(Vec<u8>),
    Err(Vec<u8>),
    Closed,
}

pub struct Shell {
    write: ChannelWriteHalf<Msg>,
    rx: mpsc::UnboundedReceiver<Chunk>,
    marker: String,
    n: u64,
}

/// The shell broke (connection lost, sshd killed): the host is unreachable for now.
#[derive(Debug)]
pub struct Broken(pub String);

impl Shell {
    pub async fn open(handle: &russh::client::Handle<super::Client>) -> Result<Shell, Broken> {
        let ch = handle
            .channel_open_session()
            .await
            .map_err(|e| Broken(format!("cannot open a session channel: {e}")))?;
        // `exec`: the shell replaces the login shell, which sshd made a session leader, so
        // its process group holds every command it runs (see `remote_groups`).
        ch.exec(true, "exec sh")
            .await
            .map_err(|e| Broken(format!("cannot start the remote shell: {e}")))?;
        let (mut read, write) = ch.split();
        let (tx, rx) = mpsc::unbounded_channel();
        // Read continuously so a large transfer can never stall the connection's window.
        tokio::spawn(async move {
            while let Some(msg) = read.wait().await {
                let chunk = match msg {
                    ChannelMsg::Data { data } => Chunk::Out(data.to_vec()),
                    ChannelMsg::ExtendedData { data, ext: 1 } => Chunk::Err(data.to_vec()),
                    ChannelMsg::Eof | ChannelMsg::Close | ChannelMsg::ExitStatus { .. } => break,
                    _ => continue,
                };
                if tx.send(chunk).is_err() {
                    return;
                }
            }
            let _ = tx.send(Chunk::Closed);
        });
        let marker = format!("__TMNL{:016x}", rand::random::<u64>());
        Ok(Shell {
            write,
            rx,
            marker,
            n: 0,
        })
    }

    /// Ends this shell and closes its channel.
    pub async fn close(self) {
        let _ = self.write.eof().await;
        let _ = self.write.close().await;
    }

    /// False once the connection under this idle shell is known to be gone.
    pub fn is_alive(&mut self) -> bool {
        loop {
            match self.rx.try_recv() {
                Ok(Chunk::Closed) | Err(mpsc::error::TryRecvError::Disconnected) => return false,
                Ok(_) => continue,
                Err(mpsc::error::TryRecvError::Empty) => return true,
            }
        }
    }

    pub async fn exec(
        &mut self,
        cmd: &str,
        opts: &ExecOptions,
        handle: &Arc<Handle<super::Client>>,
    ) -> Result<ExecOutput, Broken> {
        self.n += 1;
        let token = format!("{}_{}", self.marker, self.n);
        let script = script(&token, cmd, opts);
        self.write
            .data(&script[..])
            .await
            .map_err(|e| Broken(format!("connection lost while sending a command: {e}")))?;
        let out_end = format!("\n{token}:");
        let err_end = format!("\n{token}\n");
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let (mut rc, mut err_done) = (None, false);
        // Only the newly arrived tail is searched, so large outputs stay linear.
        let (mut out_scan, mut err_scan) = (0usize, 0usize);
        let pid_mark = format!("{token}_P:");
        let mut group: Option<super::remote_groups::Running> = None;
        while rc.is_none() || !err_done {
            match self.rx.recv().await {
                Some(Chunk::Out(d)) => out.extend_from_slice(&d),
                Some(Chunk::Err(d)) => err.extend_from_slice(&d),
                Some(Chunk::Closed) | None => {
                    return Err(Broken(
                        "the connection was closed while a command ran".into(),
                    ))
                }
            }
            if rc.is_none() {
                if let Some(pos) = find(&out[out_scan..], out_end.as_bytes()).map(|p| p + out_scan)
                {
                    let tail = &out[pos + out_end.len()..];
                    if let Some(nl) = tail.iter().position(|b| *b == b'\n') {
                        rc = std::str::from_utf8(&tail[..nl])
                            .ok()
                            .and_then(|s| s.parse().ok())
                            .or(Some(-1));
                        out.truncate(pos);
                    }
                } else {
                    out_scan = out.len().saturating_sub(out_end.len() + 12);
                }
            }
            if group.is_none() {
                if let Some((pgid, at, len)) = reported_group(&err, &pid_mark) {
                    err.drain(at..at + len);
                    err_scan = 0;
                    group = Some(super::remote_groups::running(
                        handle,
                        pgid,
                        opts.become_.clone(),
                    ));
                }
            }
            if !err_done {
                if let Some(pos) = find(&err[err_scan..], err_end.as_bytes()).map(|p| p + err_scan)
                {
                    err.truncate(pos);
                    err_done = true;
                } else {
                    err_scan = err.len().saturating_sub(err_end.len());
                }
            }
        }
        Ok(ExecOutput {
            rc: rc.unwrap_or(-1),
            stdout: out,
            stderr: err,
        })
    }
}

/// What the shell is sent for one command: the command, its input and the end markers.
fn script(token: &str, cmd: &str, opts: &ExecOptions) -> Vec<u8> {
    let body = body(cmd, opts);
    let mut input = opts.stdin.clone().unwrap_or_default();
    if let Some(p) = opts.become_.as_ref().and_then(|b| b.password.as_ref()) {
        let mut with = format!("{p}\n").into_bytes();
        with.append(&mut input);
        input = with;
    }
    // The command is one quoted word for `eval` in a subshell: a syntax error or an `exit`
    // in it ends only the subshell, never this shell. A subshell is a fork, not a new
    // program, so a command costs the host no more than its own processes. This shell's
    // id, which is its process group's (it leads the session sshd made), is reported first
    // on stderr, so an interrupt can end the command with its children (`remote_groups`).
    let run = format!("( eval {} )", sh_quote(&body));
    let mut s = format!("{{\nprintf '%s:%s\\n' {token}_P \"$$\" >&2\n");
    if opts.stdin.is_none() && opts.become_.as_ref().is_none_or(|b| b.password.is_none()) {
        s.push_str(&format!("{run} </dev/null\n"));
    } else {
        let b64 = base64::engine::general_purpose::STANDARD.encode(&input);
        s.push_str(&format!("base64 -d <<'{token}_IN' | {run}\n"));
        for line in b64.as_bytes().chunks(76) {
            s.push_str(std::str::from_utf8(line).unwrap_or(""));
            s.push('\n');
        }
        s.push_str(&format!("{token}_IN\n"));
    }
    s.push_str(&format!(
        "}} ; __r=$?; printf '\\n{token}:%d\\n' \"$__r\"; printf '\\n{token}\\n' >&2\n"
    ));
    s.into_bytes()
}

/// The command line for `cmd` with its directory, environment and privilege escalation.
pub fn body(cmd: &str, opts: &ExecOptions) -> String {
    let mut body = String::new();
    if let Some(d) = &opts.cwd {
        body.push_str(&format!("cd {} || exit 1; ", sh_quote(d)));
    }
    for (k, v) in &opts.env {
        body.push_str(&format!("export {}={}; ", k, sh_quote(v)));
    }
    match &opts.become_ {
        Some(b) => body.push_str(&timonel_modules::connection::become_command(cmd, b)),
        None => body.push_str(cmd),
    }
    body
}

/// The process group a command reported on stderr (`MARK123\n`): its id, where the line
/// starts and its length.
fn reported_group(err: &[u8], mark: &str) -> Option<(i32, usize, usize)> {
    let at = find(err, mark.as_bytes())?;
    let rest = &err[at + mark.len()..];
    let nl = rest.iter().position(|b| *b == b'\n')?;
    let pgid = std::str::from_utf8(&rest[..nl]).ok()?.parse().ok()?;
    Some((pgid, at, mark.len() + nl + 1))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `frames_stdin` promises: a command whose script is cut short anywhere runs
    /// with all of its input or not at all, because the shell parses the whole `{ ... }`
    /// group, here-document included, before it runs it (a cut in the end markers after it
    /// leaves a command that ran whole).
    #[test]
    fn a_command_cut_short_anywhere_runs_whole_or_not_at_all() {
        use std::io::Write;
        let dir = std::env::temp_dir().join(format!("timonel-frame-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let target = dir.join("written");
        let opts = ExecOptions {
            stdin: Some(vec![b'x'; 5000]),
            ..Default::default()
        };
        let cmd = format!("cat > {}", target.display());
        let whole = script("__TMNLtest_1", &cmd, &opts);
        let run = |bytes: &[u8]| {
            let mut sh = std::process::Command::new("sh")
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap();
            sh.stdin.take().unwrap().write_all(bytes).unwrap();
            sh.wait().unwrap();
        };
        for cut in (0..whole.len()).step_by(97).chain([whole.len() - 1]) {
            run(&whole[..cut]);
            if let Ok(got) = std::fs::read(&target) {
                assert_eq!(
                    got.len(),
                    5000,
                    "a script cut at byte {cut} ran with part of its input"
                );
                std::fs::remove_file(&target).unwrap();
            }
        }
        run(&whole);
        assert_eq!(std::fs::read(&target).unwrap(), vec![b'x'; 5000]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
