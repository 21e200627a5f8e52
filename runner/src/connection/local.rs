//! Runs commands on the controller itself (`ansible_connection: local`).

use std::process::Stdio;

use async_trait::async_trait;
use modules::connection::become_command;
use modules::{ConnError, Connection, ExecOptions, ExecOutput};
use tokio::io::AsyncWriteExt;

pub struct LocalConnection;

/// Kills a command's whole process group if the run is dropped (Ctrl-C) before it ends:
/// killing only `sh -c` would leave its children running.
struct GroupGuard(Option<i32>);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(pgid) = self.0 {
            // SAFETY: kill(2) with a negative pid signals that process group; no memory is touched.
            unsafe {
                libc::kill(-pgid, libc::SIGKILL);
            }
        }
    }
}

#[async_trait]
impl Connection for LocalConnection {
    async fn exec(&self, cmd: &str, opts: &ExecOptions) -> Result<ExecOutput, ConnError> {
        let cmd = match &opts.become_ {
            Some(b) => become_command(cmd, b),
            None => cmd.to_string(),
        };
        let mut c = tokio::process::Command::new("/bin/sh");
        c.arg("-c").arg(&cmd);
        c.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c.kill_on_drop(true);
        c.process_group(0);
        for (k, v) in &opts.env {
            c.env(k, v);
        }
        if let Some(d) = &opts.cwd {
            c.current_dir(d);
        }
        let mut child = c
            .spawn()
            .map_err(|e| ConnError::Failed(format!("cannot start /bin/sh: {e}")))?;
        let mut guard = GroupGuard(child.id().map(|p| p as i32));
        let _registered = guard.0.map(crate::children::running);
        let mut stdin = child.stdin.take();
        let mut input = opts.stdin.clone().unwrap_or_default();
        if let Some(b) = opts.become_.as_ref().and_then(|b| b.password.as_ref()) {
            let mut p = format!("{b}\n").into_bytes();
            p.append(&mut input);
            input = p;
        }
        let writer = async move {
            if let Some(mut s) = stdin.take() {
                // A command that does not read its stdin closes it early; that is not an error.
                let _ = s.write_all(&input).await;
                let _ = s.shutdown().await;
            }
        };
        let (_, out) = tokio::join!(writer, child.wait_with_output());
        guard.0 = None;
        let out = out.map_err(|e| ConnError::Failed(format!("command failed to run: {e}")))?;
        Ok(ExecOutput {
            rc: out.status.code().unwrap_or(-1),
            stdout: out.stdout,
            stderr: out.stderr,
        })
    }
}
