//! Fake files on the scripted host: what stat, read and write answer for a path.

use super::script::Reply;
use crate::files::content::sha1_hex;

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

    /// The line `stat -c '%F|%a|%U|%G|%u|%g|%s|%Y'` prints; `more` adds
    /// `|%X|%Z|%i|%d|%h|%f|%b|%B`, what the stat module asks for.
    fn stat_line(&self, more: bool) -> String {
        let (kind, size) = match self.kind {
            FakeKind::File if self.content.is_empty() => ("regular empty file", 0),
            FakeKind::File => ("regular file", self.content.len()),
            FakeKind::Directory => ("directory", 4096),
            FakeKind::Link => ("symbolic link", self.target.len()),
            FakeKind::Absent => ("absent", 0),
        };
        let mut line = format!(
            "{kind}|{:o}|{}|{}|{}|{}|{size}|{}",
            self.mode, self.owner, self.group, self.uid, self.gid, self.mtime
        );
        if more {
            let ifmt = match self.kind {
                FakeKind::Directory => 0o040000,
                FakeKind::Link => 0o120000,
                _ => 0o100000,
            };
            line.push_str(&format!(
                "|{m}|{m}|1000|2049|1|{:x}|8|4096",
                ifmt | self.mode,
                m = self.mtime
            ));
        }
        line + "\n"
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
                let mut out = self.stat_line(true);
                if kind == FakeKind::Link || !self.target.is_empty() {
                    out.push_str(&format!("L|{}\n", self.target));
                }
                if kind == FakeKind::File {
                    out.push_str(&format!("S|{}  -\n", sha1_hex(&self.content)));
                }
                Reply::output(out)
            }
            (FileOp::ReadStat, kind) => {
                let mut out = self.stat_line(false).into_bytes();
                if kind == FakeKind::File {
                    out.extend_from_slice(&self.content);
                }
                Reply::output(out)
            }
        }
    }
}
