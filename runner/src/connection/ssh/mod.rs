//! SSH transport (russh): one connection per host, opened on first use and reused for the
//! whole run, with a persistent shell per channel; host keys checked against known_hosts;
//! `~/.ssh/config` and Ansible's connection variables; one jump host.

mod auth;
mod known_hosts;
pub mod remote_groups;
mod settings;
mod shell;
mod stream;

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use russh::client::{self, Handle};
use russh::keys::PublicKeyOrCertificate;
use tokio::sync::Semaphore;

use timonel_modules::{ConnError, Connection, ExecOptions, ExecOutput};

use known_hosts::{Policy, Verdict};
pub use settings::{SshDefaults, SshSettings};
use shell::Shell;

/// OpenSSH allows 10 sessions per connection by default (MaxSessions); stay below it.
const MAX_SHELLS: usize = 8;

/// Checks the server's key against known_hosts with the host's policy.
pub struct Client {
    name: String,
    address: String,
    port: u16,
    policy: Policy,
    files: Vec<std::path::PathBuf>,
    refusal: Arc<Mutex<Option<String>>>,
}

impl client::Handler for Client {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let key = match key {
            PublicKeyOrCertificate::PublicKey { key, .. } => key.clone(),
            PublicKeyOrCertificate::Certificate(c) => c.public_key().clone().into(),
        };
        if self.policy == Policy::Off {
            return Ok(true);
        }
        let refuse = |msg: String| {
            if let Ok(mut r) = self.refusal.lock() {
                *r = Some(msg);
            }
            Ok(false)
        };
        match known_hosts::check(&self.files, &self.address, self.port, &key) {
            Verdict::Known => Ok(true),
            Verdict::Changed { file, line } => refuse(format!(
                "the host key of {} ({}) has CHANGED: it does not match the key on line {line} of {}. \
                 This can mean someone is intercepting the connection, or the host was rebuilt. \
                 If the change is expected, remove that line (ssh-keygen -R '{}') and run again",
                self.name,
                known_hosts::host_id(&self.address, self.port),
                file.display(),
                known_hosts::host_id(&self.address, self.port)
            )),
            Verdict::Revoked { file, line } => refuse(format!("the host key of {} is revoked (line {line} of {})", self.name, file.display())),
            Verdict::Unknown if self.policy == Policy::Strict => refuse(format!(
                "the host key of {} ({}) is not in {} and StrictHostKeyChecking is yes; add it with ssh-keyscan, or use accept-new",
                self.name,
                known_hosts::host_id(&self.address, self.port),
                self.files[0].display()
            )),
            Verdict::Unknown => {
                if let Err(e) = known_hosts::learn(&self.files[0], &self.address, self.port, &key) {
                    return refuse(format!("cannot record the host key of {} in {}: {e}", self.name, self.files[0].display()));
                }
                Ok(true)
            }
        }
    }
}

struct Live {
    handle: Arc<Handle<Client>>,
    /// The jump host's session, kept open as long as the tunnel is used.
    _jump: Option<Arc<Handle<Client>>>,
    idle: Vec<Shell>,
}

pub struct SshConnection {
    settings: SshSettings,
    live: tokio::sync::Mutex<Option<Live>>,
    shells: Semaphore,
}

fn config(s: &SshSettings) -> Arc<client::Config> {
    Arc::new(client::Config {
        keepalive_interval: Some(s.keepalive),
        keepalive_max: 3,
        inactivity_timeout: None,
        ..Default::default()
    })
}

fn client_for(s: &SshSettings, refusal: &Arc<Mutex<Option<String>>>) -> Client {
    Client {
        name: s.name.clone(),
        address: s.address.clone(),
        port: s.port,
        policy: s.policy,
        files: s.known_hosts.clone(),
        refusal: refusal.clone(),
    }
}

/// Explains a failed handshake: a refused host key, or the transport error.
fn why(e: russh::Error, refusal: &Arc<Mutex<Option<String>>>, s: &SshSettings) -> String {
    if let Some(r) = refusal.lock().ok().and_then(|r| r.clone()) {
        return r;
    }
    match e {
        russh::Error::IO(io) => format!("cannot connect to {}:{}: {io}", s.address, s.port),
        other => format!("ssh to {}:{} failed: {other}", s.address, s.port),
    }
}

async fn open(s: &SshSettings) -> Result<(Handle<Client>, Option<Arc<Handle<Client>>>), String> {
    let refusal = Arc::new(Mutex::new(None));
    let (mut handle, jump) = match &s.proxy_jump {
        None => {
            let fut = client::connect(
                config(s),
                (s.address.as_str(), s.port),
                client_for(s, &refusal),
            );
            let h = tokio::time::timeout(s.connect_timeout, fut)
                .await
                .map_err(|_| {
                    format!(
                        "timed out after {}s connecting to {}:{}",
                        s.connect_timeout.as_secs(),
                        s.address,
                        s.port
                    )
                })?
                .map_err(|e| why(e, &refusal, s))?;
            (h, None)
        }
        Some(spec) => {
            let js = s.jump(spec);
            let (jh, _) = Box::pin(open(&js))
                .await
                .map_err(|e| format!("jump host {}: {e}", js.display()))?;
            let jh = Arc::new(jh);
            let ch = jh
                .channel_open_direct_tcpip(s.address.clone(), u32::from(s.port), "127.0.0.1", 0)
                .await
                .map_err(|e| {
                    format!(
                        "jump host {} cannot reach {}:{}: {e}",
                        js.display(),
                        s.address,
                        s.port
                    )
                })?;
            let fut = client::connect_stream(config(s), ch.into_stream(), client_for(s, &refusal));
            let h = tokio::time::timeout(s.connect_timeout, fut)
                .await
                .map_err(|_| {
                    format!(
                        "timed out connecting to {}:{} through {}",
                        s.address,
                        s.port,
                        js.display()
                    )
                })?
                .map_err(|e| why(e, &refusal, s))?;
            (h, Some(jh))
        }
    };
    auth::authenticate(&mut handle, s).await?;
    Ok((handle, jump))
}

impl SshConnection {
    pub fn new(settings: SshSettings) -> SshConnection {
        SshConnection {
            settings,
            live: tokio::sync::Mutex::new(None),
            shells: Semaphore::new(MAX_SHELLS),
        }
    }

    /// The live connection, connecting (again) when there is none or it closed.
    async fn connected(&self) -> Result<tokio::sync::MutexGuard<'_, Option<Live>>, String> {
        let mut live = self.live.lock().await;
        if live.as_ref().is_some_and(|l| l.handle.is_closed()) {
            *live = None;
        }
        if live.is_none() {
            let (h, jump) = open(&self.settings).await?;
            *live = Some(Live {
                handle: Arc::new(h),
                _jump: jump,
                idle: vec![],
            });
        }
        Ok(live)
    }

    /// A shell to run on, connecting (again) when there is no live connection.
    async fn shell(&self) -> Result<(Shell, Arc<Handle<Client>>), String> {
        let mut live = self.connected().await?;
        let l = live.as_mut().expect("just opened");
        while let Some(mut s) = l.idle.pop() {
            if s.is_alive() {
                return Ok((s, l.handle.clone()));
            }
        }
        let handle = l.handle.clone();
        drop(live);
        let shell = Shell::open(&handle).await.map_err(|e| e.0)?;
        Ok((shell, handle))
    }

    /// The connection for a streamed transfer's own channel. An idle shell is closed to make
    /// room: a permit's holder has one channel open at most, which keeps the channels within
    /// the server's MaxSessions.
    async fn stream_handle(&self) -> Result<Arc<Handle<Client>>, String> {
        let (shell, handle) = {
            let mut live = self.connected().await?;
            let l = live.as_mut().expect("just opened");
            (l.idle.pop(), l.handle.clone())
        };
        if let Some(s) = shell {
            s.close().await;
        }
        Ok(handle)
    }

    async fn give_back(&self, shell: Shell, handle: &Arc<Handle<Client>>) {
        let mut live = self.live.lock().await;
        if let Some(l) = live.as_mut().filter(|l| Arc::ptr_eq(&l.handle, handle)) {
            l.idle.push(shell);
        }
    }

    async fn forget(&self, handle: &Arc<Handle<Client>>) {
        let mut live = self.live.lock().await;
        if live
            .as_ref()
            .is_some_and(|l| Arc::ptr_eq(&l.handle, handle))
        {
            *live = None;
        }
    }
}

#[async_trait]
impl Connection for SshConnection {
    async fn exec(&self, cmd: &str, opts: &ExecOptions) -> Result<ExecOutput, ConnError> {
        let _permit = self
            .shells
            .acquire()
            .await
            .map_err(|e| ConnError::Failed(e.to_string()))?;
        // A connection dropped since the last task (sshd restarted, network blip) is opened
        // again once; a command that had started is never re-run.
        for attempt in 0..2 {
            if opts.stdin_file.is_some() || opts.stdout_file.is_some() {
                // A streamed transfer on a channel of its own.
                let handle = self.stream_handle().await.map_err(ConnError::Unreachable)?;
                match stream::exec(&handle, cmd, opts).await {
                    Ok(out) => return Ok(out),
                    Err(stream::Failure::Local(m)) => return Err(ConnError::Failed(m)),
                    Err(stream::Failure::Broken(shell::Broken(msg))) => {
                        self.forget(&handle).await;
                        let started = !msg.starts_with("connection lost while sending");
                        if attempt == 1 || started {
                            return Err(ConnError::Unreachable(format!(
                                "{}: {msg}",
                                self.settings.display()
                            )));
                        }
                        continue;
                    }
                }
            }
            let (mut shell, handle) = self.shell().await.map_err(ConnError::Unreachable)?;
            match shell.exec(cmd, opts, &handle).await {
                Ok(out) => {
                    self.give_back(shell, &handle).await;
                    return Ok(out);
                }
                Err(shell::Broken(msg)) => {
                    self.forget(&handle).await;
                    let started = !msg.starts_with("connection lost while sending");
                    if attempt == 1 || started {
                        return Err(ConnError::Unreachable(format!(
                            "{}: {msg}",
                            self.settings.display()
                        )));
                    }
                }
            }
        }
        Err(ConnError::Unreachable(format!(
            "{}: connection lost",
            self.settings.display()
        )))
    }

    /// The persistent shell parses a command with its here-document input as one `{ ... }`
    /// group: input cut short is a syntax error, and nothing of the command runs.
    fn frames_stdin(&self) -> bool {
        true
    }
}
