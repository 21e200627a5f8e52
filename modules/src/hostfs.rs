//! File operations on a host expressed as POSIX shell + coreutils commands.

use crate::connection::{sh_quote, ConnError, Connection, ExecOptions, ExecOutput};
use crate::ModuleError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileKind {
    File,
    Directory,
    Link,
    Other,
}

#[derive(Debug, Clone)]
pub struct FileStat {
    pub kind: FileKind,
    /// Permission bits, e.g. 0o644.
    pub mode: u32,
    pub owner: String,
    pub group: String,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    pub mtime: i64,
    pub link_target: Option<String>,
    pub checksum: Option<String>,
    /// What only the stat module reports (the plain `stat` of [`HostView::stat`]).
    pub more: Option<Box<StatMore>>,
}

/// The rest of what `stat(2)` says about a path, as the stat module reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatMore {
    pub atime: i64,
    pub ctime: i64,
    pub inode: u64,
    pub dev: u64,
    pub nlink: u64,
    /// `st_mode` with the file type bits (S_IFMT) and setuid/setgid/sticky.
    pub raw_mode: u32,
    pub blocks: u64,
    pub block_size: u64,
}

/// What a plan sees of a host: commands that read (a plan runs no other kind), stat and
/// file reads. Uploads and file writes are only on [`Host`], which `apply` gets.
pub struct HostView<'a> {
    pub conn: &'a dyn Connection,
    pub opts: ExecOptions,
}

/// Everything a module's apply step needs to act on one host: the reads of [`HostView`]
/// plus uploads and atomic file writes.
pub struct Host<'a>(HostView<'a>);

impl<'a> Host<'a> {
    pub fn new(conn: &'a dyn Connection, opts: ExecOptions) -> Host<'a> {
        Host(HostView { conn, opts })
    }

    /// The read side, for a plan.
    pub fn view(&self) -> &HostView<'a> {
        &self.0
    }
}

impl<'a> std::ops::Deref for Host<'a> {
    type Target = HostView<'a>;
    fn deref(&self) -> &HostView<'a> {
        &self.0
    }
}

async fn exec_on(
    view: &HostView<'_>,
    cmd: &str,
    stdin: Option<Vec<u8>>,
) -> Result<ExecOutput, ModuleError> {
    let mut opts = view.opts.clone();
    opts.stdin = stdin;
    view.conn.exec(cmd, &opts).await.map_err(|e| match e {
        ConnError::Unreachable(m) => ModuleError::Unreachable(m),
        ConnError::Failed(m) => ModuleError::Failed(m),
    })
}

impl<'a> HostView<'a> {
    pub async fn exec(&self, cmd: &str) -> Result<ExecOutput, ModuleError> {
        exec_on(self, cmd, None).await
    }

    /// The one way a plan may write: a scratch upload it needs to compare with what is on
    /// the host (unarchive's archive, for `tar --compare`). The work the plan returns must
    /// remove it in both `apply` and `discard`.
    pub async fn upload_scratch(&self, path: &str, content: &[u8]) -> Result<(), ModuleError> {
        self.upload_scratch_from(path, Source::Bytes(content)).await
    }

    /// [`HostView::upload_scratch`] of bytes or a streamed controller file.
    pub async fn upload_scratch_from(
        &self,
        path: &str,
        content: Source<'_>,
    ) -> Result<(), ModuleError> {
        write_file(self, path, content, &Attrs::default(), None, None).await
    }

    /// Runs a command that must succeed; its stderr becomes the error.
    pub async fn exec_ok(&self, cmd: &str) -> Result<ExecOutput, ModuleError> {
        let out = self.exec(cmd).await?;
        if out.rc != 0 {
            let err = out.stderr_str();
            return Err(ModuleError::Failed(if err.trim().is_empty() {
                format!("command failed with rc={}: {}", out.rc, cmd)
            } else {
                err.trim().to_string()
            }));
        }
        Ok(out)
    }

    /// `None` when the path does not exist.
    pub async fn stat(&self, path: &str, follow: bool) -> Result<Option<FileStat>, ModuleError> {
        let out = self.exec_ok(&stat_script(path, follow)).await?;
        let text = out.stdout_str();
        let mut lines = text.lines();
        let first = lines.next().unwrap_or("");
        if first == "ABSENT" {
            return Ok(None);
        }
        let mut st = parse_stat_line(path, first)?;
        for line in lines {
            if let Some(t) = line.strip_prefix("L|") {
                st.link_target = Some(t.to_string());
            } else if let Some(s) = line.strip_prefix("S|") {
                st.checksum = s.split_whitespace().next().map(str::to_string);
            }
        }
        Ok(Some(st))
    }

    /// The file's bytes, `None` when it does not exist.
    pub async fn read(&self, path: &str) -> Result<Option<Vec<u8>>, ModuleError> {
        let out = self.exec(&read_script(path)).await?;
        match out.rc {
            0 => Ok(Some(out.stdout)),
            3 => Ok(None),
            _ => Err(ModuleError::Failed(format!(
                "cannot read {path}: {}",
                out.stderr_str().trim()
            ))),
        }
    }

    /// Streams the file at `path` into the controller file `to` (created or truncated),
    /// without holding it in memory. `false` when it does not exist.
    pub async fn read_into(&self, path: &str, to: &std::path::Path) -> Result<bool, ModuleError> {
        let mut opts = self.opts.clone();
        opts.stdout_file = Some(to.to_path_buf());
        let out = self
            .conn
            .exec(&read_script(path), &opts)
            .await
            .map_err(|e| match e {
                ConnError::Unreachable(m) => ModuleError::Unreachable(m),
                ConnError::Failed(m) => ModuleError::Failed(m),
            })?;
        match out.rc {
            0 => Ok(true),
            3 => Ok(false),
            _ => Err(ModuleError::Failed(format!(
                "cannot read {path}: {}",
                out.stderr_str().trim()
            ))),
        }
    }

    /// A file's attributes and content in one round trip (stat follows links; no checksum:
    /// the caller has the bytes). `(None, None)` when it does not exist.
    pub async fn read_stat(
        &self,
        path: &str,
    ) -> Result<(Option<FileStat>, Option<Vec<u8>>), ModuleError> {
        let out = self.exec_ok(&read_stat_script(path)).await?;
        let nl = out
            .stdout
            .iter()
            .position(|b| *b == b'\n')
            .unwrap_or(out.stdout.len());
        let first = String::from_utf8_lossy(&out.stdout[..nl]).into_owned();
        if first == "ABSENT" {
            return Ok((None, None));
        }
        let st = parse_stat_line(path, &first)?;
        let body = out.stdout.get(nl + 1..).unwrap_or_default().to_vec();
        let content = (st.kind == FileKind::File).then_some(body);
        Ok((Some(st), content))
    }
}

/// The command [`HostView::stat`] runs: a `stat` line, `L|target` for a link, `S|sha1` for a
/// readable file; `ABSENT` when there is nothing.
pub(crate) fn stat_script(path: &str, follow: bool) -> String {
    let p = sh_quote(path);
    let l = if follow { "-L " } else { "" };
    format!(
        "p={p}; if [ -e \"$p\" ] || [ -L \"$p\" ]; then \
         stat {l}-c '%F|%a|%U|%G|%u|%g|%s|%Y|%X|%Z|%i|%d|%h|%f|%b|%B' -- \"$p\" || exit 1; \
         if [ -L \"$p\" ]; then printf 'L|%s\\n' \"$(readlink -- \"$p\")\"; fi; \
         if [ -f \"$p\" ] && [ -r \"$p\" ]; then printf 'S|'; sha1sum < \"$p\"; fi; \
         else echo ABSENT; fi"
    )
}

/// The command [`HostView::read`] runs: the bytes, or exit code 3 when the path is absent.
pub(crate) fn read_script(path: &str) -> String {
    let p = sh_quote(path);
    format!("if [ -e {p} ]; then cat -- {p}; else exit 3; fi")
}

/// The command [`HostView::read_stat`] runs: a `stat` line, then a file's bytes.
pub(crate) fn read_stat_script(path: &str) -> String {
    let p = sh_quote(path);
    format!(
        "p={p}; if [ -e \"$p\" ]; then stat -L -c '%F|%a|%U|%G|%u|%g|%s|%Y' -- \"$p\" || exit 1; \
         if [ -f \"$p\" ]; then cat -- \"$p\" || exit 1; fi; else echo ABSENT; fi"
    )
}

/// How every atomic write's command starts, and a part every one has (see [`write_file`]).
pub(crate) fn write_script_marks(path: &str) -> (String, &'static str) {
    (format!("p={}; t=", sh_quote(path)), "mv -f \"$t\" \"$p\"")
}

/// What an atomic write puts in a file: bytes in memory, or a controller file streamed in
/// chunks (its size and SHA-1 known beforehand, so the host can verify what arrived).
#[derive(Clone, Copy)]
pub enum Source<'b> {
    Bytes(&'b [u8]),
    File {
        path: &'b std::path::Path,
        size: u64,
        sha1: &'b str,
    },
}

/// Writes `content` to `path` atomically: a temporary file in the same directory, then a
/// rename, so an interrupted run never leaves a half-written file. The rename happens only
/// once the whole content arrived (its size and SHA-1 checked on the host, unless the
/// transport delivers input whole or not at all: [`Connection::frames_stdin`]); an interrupted
/// transfer (the connection dropped, the run stopped) removes its temporary file. `existing`
/// is what the plan step saw there: an existing file keeps its mode and owner unless new
/// ones are given; a new one gets the umask's mode, as any new file would.
async fn write_file(
    view: &HostView<'_>,
    path: &str,
    content: Source<'_>,
    attrs: &Attrs,
    existing: Option<&FileStat>,
    validate: Option<&str>,
) -> Result<(), ModuleError> {
    // The directory and temporary name are worked out here, not with dirname/mktemp on
    // the host: every process saved there is saved on every file of every host.
    let dir = match path.rfind('/') {
        Some(0) => "/",
        Some(i) => &path[..i],
        None => ".",
    };
    let tmp = format!(
        "{}/.{}.timonel.{}",
        dir.trim_end_matches('/'),
        path.rsplit('/').next().unwrap_or("f"),
        unique()
    );
    let (p, d, t) = (sh_quote(path), sh_quote(dir), sh_quote(&tmp));
    let (sum, len) = match content {
        Source::Bytes(b) => (crate::files::content::sha1_hex(b), b.len() as u64),
        Source::File { size, sha1, .. } => (sha1.to_string(), size),
    };
    let mut script = format!(
        "p={p}; t={t}; [ -d {d} ] || {{ echo \"destination directory {dir} does not exist\" >&2; exit 1; }}; \
         set -C; : > \"$t\" || exit 1; set +C; trap 'rm -f \"$t\"' EXIT; trap 'exit 1' HUP INT TERM PIPE; \
         cat > \"$t\" || exit 1; "
    );
    let framed = matches!(content, Source::Bytes(_)) && view.conn.frames_stdin();
    if !framed {
        script.push_str(&format!(
            "n=$(wc -c < \"$t\") || exit 1; s=$(sha1sum < \"$t\") || exit 1; \
             [ \"$n\" -eq {len} ] && [ \"${{s%% *}}\" = {sum} ] || \
             {{ echo \"the transfer of {len} bytes to {dir} was cut short; {path} is unchanged\" >&2; exit 1; }}; "
        ));
    }
    if let Some(e) = existing {
        if attrs.mode.is_none() {
            script.push_str(&format!("chmod {:o} \"$t\" || exit 1; ", e.mode));
        }
        if attrs.owner.is_none() || attrs.group.is_none() {
            script.push_str("chown --reference=\"$p\" \"$t\" 2>/dev/null; ");
        }
    }
    script.push_str(&attrs.commands("\"$t\""));
    if let Some(v) = validate {
        // The check runs on the temporary file, which replaces the real one only if it passes;
        // its output goes to stderr for the error.
        script.push_str(&format!(
            "{{ {}\n}} 1>&2 || {{ r=$?; echo \"{VALIDATE_FAILED}$r\" >&2; exit 1; }}; ",
            validate_command(v, "\"$t\"")
        ));
    }
    script.push_str("mv -f \"$t\" \"$p\" && trap - EXIT");
    let mut opts = view.opts.clone();
    match content {
        Source::Bytes(b) => opts.stdin = Some(b.to_vec()),
        Source::File { path, .. } => opts.stdin_file = Some(path.to_path_buf()),
    }
    let out = view.conn.exec(&script, &opts).await.map_err(|e| match e {
        ConnError::Unreachable(m) => ModuleError::Unreachable(m),
        ConnError::Failed(m) => ModuleError::Failed(m),
    })?;
    if out.rc == 0 {
        return Ok(());
    }
    let err = out.stderr_str();
    if let Some((output, rc)) = err.trim_end().rsplit_once(VALIDATE_FAILED) {
        return Err(ModuleError::Failed(format!(
            "failed to validate: rc:{rc} error:{}; {path} is unchanged",
            output.trim()
        )));
    }
    Err(ModuleError::Failed(format!(
        "cannot write {path}: {}",
        err.trim()
    )))
}

/// The marker the write script prints when `validate` fails, followed by its exit code.
const VALIDATE_FAILED: &str = "timonel: validate failed with rc=";

/// A `validate` command for `file` (already quoted): `%s` is the file, `%%` a percent sign,
/// as Python's `validate % path` gives it.
pub fn validate_command(validate: &str, file: &str) -> String {
    validate
        .replace("%%", "\u{0}")
        .replace("%s", file)
        .replace('\u{0}', "%")
}

/// Ansible's check of a `validate` argument, made before anything is written.
pub fn check_validate(validate: Option<&str>) -> Result<(), ModuleError> {
    match validate {
        Some(v) if !v.contains("%s") => Err(ModuleError::Failed(format!(
            "validate must contain %s: {v}"
        ))),
        _ => Ok(()),
    }
}

impl Host<'_> {
    /// Runs a command with `stdin` as its standard input.
    pub async fn exec_with_stdin(
        &self,
        cmd: &str,
        stdin: Option<Vec<u8>>,
    ) -> Result<ExecOutput, ModuleError> {
        exec_on(self, cmd, stdin).await
    }

    /// Writes `content` to `path` atomically (see [`write_file`]).
    pub async fn write_atomic(
        &self,
        path: &str,
        content: &[u8],
        attrs: &Attrs,
        existing: Option<&FileStat>,
    ) -> Result<(), ModuleError> {
        write_file(self, path, Source::Bytes(content), attrs, existing, None).await
    }

    /// [`Host::write_atomic_from`], with `validate` (`%s` for the file) run on the new
    /// content before it replaces the file: if it fails, the file is left as it was.
    pub async fn write_validated(
        &self,
        path: &str,
        content: Source<'_>,
        attrs: &Attrs,
        existing: Option<&FileStat>,
        validate: Option<&str>,
    ) -> Result<(), ModuleError> {
        write_file(self, path, content, attrs, existing, validate).await
    }

    /// Writes `content` (bytes or a streamed controller file) to `path` atomically.
    pub async fn write_atomic_from(
        &self,
        path: &str,
        content: Source<'_>,
        attrs: &Attrs,
        existing: Option<&FileStat>,
    ) -> Result<(), ModuleError> {
        write_file(self, path, content, attrs, existing, None).await
    }
}

/// A name no other write (on any host, in this or another run) is using.
fn unique() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "{}.{:x}{:x}",
        std::process::id(),
        nanos,
        N.fetch_add(1, Ordering::Relaxed)
    )
}

fn parse_stat_line(path: &str, line: &str) -> Result<FileStat, ModuleError> {
    let f: Vec<&str> = line.split('|').collect();
    if f.len() < 8 {
        return Err(ModuleError::Failed(format!(
            "unexpected stat output for {path}: {line}"
        )));
    }
    let kind = match f[0] {
        "regular file" | "regular empty file" => FileKind::File,
        "directory" => FileKind::Directory,
        "symbolic link" => FileKind::Link,
        _ => FileKind::Other,
    };
    Ok(FileStat {
        kind,
        mode: u32::from_str_radix(f[1], 8).unwrap_or(0),
        owner: f[2].to_string(),
        group: f[3].to_string(),
        uid: f[4].parse().unwrap_or(0),
        gid: f[5].parse().unwrap_or(0),
        size: f[6].parse().unwrap_or(0),
        mtime: f[7].parse().unwrap_or(0),
        link_target: None,
        checksum: None,
        more: (f.len() >= 16).then(|| {
            Box::new(StatMore {
                atime: f[8].parse().unwrap_or(0),
                ctime: f[9].parse().unwrap_or(0),
                inode: f[10].parse().unwrap_or(0),
                dev: f[11].parse().unwrap_or(0),
                nlink: f[12].parse().unwrap_or(0),
                raw_mode: u32::from_str_radix(f[13], 16).unwrap_or(0),
                blocks: f[14].parse().unwrap_or(0),
                block_size: f[15].parse().unwrap_or(0),
            })
        }),
    })
}

/// Requested mode/owner/group of a path.
#[derive(Debug, Clone, Default)]
pub struct Attrs {
    pub mode: Option<String>,
    pub owner: Option<String>,
    pub group: Option<String>,
}

impl Attrs {
    /// Shell commands applying these attributes to `target` (already quoted).
    pub fn commands(&self, target: &str) -> String {
        let mut s = String::new();
        if let Some(o) = &self.owner {
            s.push_str(&format!("chown {} {target} || exit 1; ", sh_quote(o)));
        }
        if let Some(g) = &self.group {
            s.push_str(&format!("chgrp {} {target} || exit 1; ", sh_quote(g)));
        }
        if let Some(m) = &self.mode {
            s.push_str(&format!("chmod {} {target} || exit 1; ", sh_quote(m)));
        }
        s
    }

    pub fn is_empty(&self) -> bool {
        self.mode.is_none() && self.owner.is_none() && self.group.is_none()
    }

    /// Which attributes differ from `st` (names like "mode", "owner").
    pub fn differences(&self, st: &FileStat) -> Vec<(&'static str, String, String)> {
        let mut d = Vec::new();
        if let Some(m) = &self.mode {
            let want = crate::mode::resolve(m, st.mode, st.kind == FileKind::Directory);
            if let Some(want) = want {
                if want != st.mode {
                    d.push(("mode", format!("{:04o}", st.mode), format!("{want:04o}")));
                }
            }
        }
        if let Some(o) = &self.owner {
            if o != &st.owner && o != &st.uid.to_string() {
                d.push(("owner", st.owner.clone(), o.clone()));
            }
        }
        if let Some(g) = &self.group {
            if g != &st.group && g != &st.gid.to_string() {
                d.push(("group", st.group.clone(), g.clone()));
            }
        }
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connection::{ConnError, Connection, ExecOptions, ExecOutput};
    use async_trait::async_trait;

    /// A local shell whose stdin stops after `cut` bytes, as when the connection drops or the
    /// run is interrupted in the middle of a transfer.
    struct CutShort {
        cut: usize,
    }

    #[async_trait]
    impl Connection for CutShort {
        async fn exec(&self, cmd: &str, opts: &ExecOptions) -> Result<ExecOutput, ConnError> {
            use std::io::Write;
            let mut child = std::process::Command::new("/bin/sh")
                .arg("-c")
                .arg(cmd)
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .map_err(|e| ConnError::Failed(e.to_string()))?;
            let input = opts.stdin.clone().unwrap_or_default();
            let n = self.cut.min(input.len());
            if let Some(mut s) = child.stdin.take() {
                let _ = s.write_all(&input[..n]);
            }
            let out = child
                .wait_with_output()
                .map_err(|e| ConnError::Failed(e.to_string()))?;
            Ok(ExecOutput {
                rc: out.status.code().unwrap_or(-1),
                stdout: out.stdout,
                stderr: out.stderr,
            })
        }
    }

    fn write(cut: usize, path: &str, content: &[u8]) -> Result<(), ModuleError> {
        let conn = CutShort { cut };
        let host = Host::new(&conn, ExecOptions::default());
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(host.write_atomic(path, content, &Attrs::default(), None))
    }

    #[test]
    fn a_transfer_cut_short_leaves_the_old_file_and_no_temporary_file() {
        let dir = std::env::temp_dir().join(format!("timonel-cut-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("big.conf");
        std::fs::write(&path, "the old content\n").unwrap();
        let new = vec![b'x'; 200_000];
        let p = path.to_str().unwrap();
        let err = write(65_536, p, &new).unwrap_err().to_string();
        assert!(
            err.contains("was cut short") && err.contains("is unchanged"),
            "{err}"
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "the old content\n");
        let left: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left.len(), 1, "a temporary file was left: {left:?}");
        // The whole content arrives: the file is replaced.
        write(usize::MAX, p, &new).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), new);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
