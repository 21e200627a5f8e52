//! Runs commands on the controller itself (`ansible_connection: local`).

use std::process::Stdio;

use async_trait::async_trait;
use timonel_modules::connection::become_command;
use timonel_modules::{ConnError, Connection, ExecOptions, ExecOutput};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

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
        let file_in = opts.stdin_file.clone();
        let writer = async move {
            if let Some(mut s) = stdin.take() {
                // A command that does not read its stdin closes it early; that is not an error.
                let _ = s.write_all(&input).await;
                if let Some(f) = file_in {
                    if let Ok(mut f) = tokio::fs::File::open(&f).await {
                        let _ = tokio::io::copy(&mut f, &mut s).await;
                    }
                }
                let _ = s.shutdown().await;
            }
        };
        let mut out_pipe = child.stdout.take();
        let mut err_pipe = child.stderr.take();
        let file_out = opts.stdout_file.clone();
        let reader = async move {
            let mut out = Vec::new();
            if let Some(p) = out_pipe.as_mut() {
                match &file_out {
                    // Streamed to the file in chunks: a large download never sits in memory.
                    Some(path) => {
                        let mut f = tokio::fs::File::create(path).await?;
                        tokio::io::copy(p, &mut f).await?;
                        f.flush().await?;
                    }
                    None => {
                        p.read_to_end(&mut out).await?;
                    }
                }
            }
            Ok::<_, std::io::Error>(out)
        };
        let errs = async move {
            let mut err = Vec::new();
            if let Some(p) = err_pipe.as_mut() {
                let _ = p.read_to_end(&mut err).await;
            }
            err
        };
        let (_, stdout, stderr) = tokio::join!(writer, reader, errs);
        let status = child.wait().await;
        guard.0 = None;
        let stdout = stdout.map_err(|e| ConnError::Failed(format!("command output: {e}")))?;
        let status =
            status.map_err(|e| ConnError::Failed(format!("command failed to run: {e}")))?;
        Ok(ExecOutput {
            rc: status.code().unwrap_or(-1),
            stdout,
            stderr,
        })
    }
    fn is_local(&self) -> bool {
        true
    }
}
