//! A command on a session channel of its own, for transfers streamed from or into a
//! controller file (`ExecOptions::stdin_file`, `stdout_file`). The persistent shell frames
//! stdin as a here-document and output with markers, which needs it all in memory; here the
//! channel's own end of input and exit status frame the command, and the bytes move in
//! chunks the SSH window paces, so controller memory stays bounded whatever the size.

use russh::ChannelMsg;
use tokio::io::AsyncWriteExt;

use timonel_modules::connection::sh_quote;
use timonel_modules::{ExecOptions, ExecOutput};

use super::shell::{body, Broken};

/// Why a streamed command did not complete.
pub enum Failure {
    /// The connection broke: the host is unreachable for now.
    Broken(Broken),
    /// The controller file could not be read or written.
    Local(String),
}

pub async fn exec(
    handle: &russh::client::Handle<super::Client>,
    cmd: &str,
    opts: &ExecOptions,
) -> Result<ExecOutput, Failure> {
    let broken = |m: String| Failure::Broken(Broken(m));
    let ch = handle
        .channel_open_session()
        .await
        .map_err(|e| broken(format!("connection lost while sending a command: {e}")))?;
    // `sh -c`: the login shell may not be a POSIX one.
    ch.exec(true, format!("sh -c {}", sh_quote(&body(cmd, opts))))
        .await
        .map_err(|e| broken(format!("cannot start a remote command: {e}")))?;
    let (mut read, write) = ch.split();
    let mut head = opts.stdin.clone().unwrap_or_default();
    if let Some(p) = opts.become_.as_ref().and_then(|b| b.password.as_ref()) {
        let mut with = format!("{p}\n").into_bytes();
        with.append(&mut head);
        head = with;
    }
    let file_in = opts.stdin_file.clone();
    let writer = async move {
        let _ = write.data(&head[..]).await;
        if let Some(f) = file_in {
            match tokio::fs::File::open(&f).await {
                Ok(f) => {
                    let _ = write
                        .data(tokio::io::BufReader::with_capacity(1 << 16, f))
                        .await;
                }
                Err(e) => return Err(format!("cannot read {}: {e}", f.display())),
            }
        }
        let _ = write.eof().await;
        // Kept until the command ended: dropping the write half closes the channel.
        Ok(write)
    };
    let file_out = opts.stdout_file.clone();
    let reader = async move {
        let mut sink = match &file_out {
            Some(p) => Some(
                tokio::fs::File::create(p)
                    .await
                    .map_err(|e| format!("cannot write {}: {e}", p.display()))?,
            ),
            None => None,
        };
        let (mut out, mut err, mut rc) = (Vec::new(), Vec::new(), None);
        while let Some(msg) = read.wait().await {
            match msg {
                ChannelMsg::Data { data } => match sink.as_mut() {
                    Some(f) => f
                        .write_all(&data)
                        .await
                        .map_err(|e| format!("cannot write the command's output: {e}"))?,
                    None => out.extend_from_slice(&data),
                },
                ChannelMsg::ExtendedData { data, ext: 1 } => err.extend_from_slice(&data),
                ChannelMsg::ExitStatus { exit_status } => rc = Some(exit_status as i32),
                ChannelMsg::ExitSignal { .. } => rc = Some(-1),
                ChannelMsg::Close => break,
                _ => {}
            }
        }
        if let Some(f) = sink.as_mut() {
            f.flush()
                .await
                .map_err(|e| format!("cannot write the command's output: {e}"))?;
        }
        Ok::<_, String>((out, err, rc))
    };
    let (written, read) = tokio::join!(writer, reader);
    let write = written.map_err(Failure::Local)?;
    let (stdout, stderr, rc) = read.map_err(Failure::Local)?;
    let _ = write.close().await;
    let rc = rc.ok_or_else(|| broken("the connection was closed while a command ran".into()))?;
    Ok(ExecOutput { rc, stdout, stderr })
}
