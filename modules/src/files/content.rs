//! "This path should hold these bytes with these attributes": the planner and applier that
//! copy, template, lineinfile, blockinfile and replace share.

use std::io::Read;
use std::path::{Path, PathBuf};

use sha1::{Digest, Sha1};

use crate::connection::sh_quote;
use crate::hostfs::{Attrs, FileKind, FileStat, Source};
use crate::{
    ApplyContext, FileDiff, ModResult, ModuleError, ModuleResult, Plan, PlanContext, Work,
};

/// Diffs of files larger than this are not shown.
const MAX_DIFF_BYTES: u64 = 1 << 20;

/// What a file should hold: bytes in memory, or a file on the controller that is streamed to
/// the host in chunks (copy's `src`, get_url's download), so memory stays bounded whatever
/// its size.
pub enum Body {
    Bytes(Vec<u8>),
    File(ControllerFile),
}

/// A controller file with its size and SHA-1, read once in chunks.
pub struct ControllerFile {
    pub path: PathBuf,
    pub size: u64,
    pub sha1: String,
    /// A temporary file (a download) removed when the work is done or dropped.
    _temp: Option<tempfile::TempPath>,
}

/// Chunk size for reading controller files.
const CHUNK: usize = 256 * 1024;

impl ControllerFile {
    pub fn open(path: &Path) -> std::io::Result<ControllerFile> {
        let mut f = std::fs::File::open(path)?;
        let (mut h, mut size, mut buf) = (Sha1::new(), 0u64, vec![0u8; CHUNK]);
        loop {
            let n = f.read(&mut buf)?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
            size += n as u64;
        }
        Ok(ControllerFile {
            path: path.to_path_buf(),
            size,
            sha1: hex::encode(h.finalize()),
            _temp: None,
        })
    }

    /// A temporary file whose SHA-1 the caller computed while writing it.
    pub fn temporary(temp: tempfile::TempPath, size: u64, sha1: String) -> ControllerFile {
        ControllerFile {
            path: temp.to_path_buf(),
            size,
            sha1,
            _temp: Some(temp),
        }
    }
}

impl From<Vec<u8>> for Body {
    fn from(b: Vec<u8>) -> Body {
        Body::Bytes(b)
    }
}

impl From<ControllerFile> for Body {
    fn from(f: ControllerFile) -> Body {
        Body::File(f)
    }
}

impl Body {
    pub fn len(&self) -> u64 {
        match self {
            Body::Bytes(b) => b.len() as u64,
            Body::File(f) => f.size,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn sha1(&self) -> String {
        match self {
            Body::Bytes(b) => sha1_hex(b),
            Body::File(f) => f.sha1.clone(),
        }
    }

    pub fn source(&self) -> Source<'_> {
        match self {
            Body::Bytes(b) => Source::Bytes(b),
            Body::File(f) => Source::File {
                path: &f.path,
                size: f.size,
                sha1: &f.sha1,
            },
        }
    }

    /// The content as text for a diff, when it is small enough to show.
    pub fn diff_text(&self) -> Option<String> {
        match self {
            Body::Bytes(b) => text_for_diff(b),
            Body::File(f) if f.size <= MAX_DIFF_BYTES => {
                text_for_diff(&std::fs::read(&f.path).ok()?)
            }
            Body::File(_) => None,
        }
    }
}

/// A file a module would create on a host that doesn't exist yet (`Module::new_host_file`).
pub struct NewFile {
    pub path: String,
    pub content: Body,
}

/// The diff of a file created where there was none: from "absent" to its content.
pub fn absent_diff(path: &str, new: &Body) -> FileDiff {
    match new.diff_text() {
        Some(after) => {
            let mut d = FileDiff::new(path, "", after);
            d.before_header = format!("{path} (absent)");
            d
        }
        None => binary_diff(path),
    }
}

fn binary_diff(path: &str) -> FileDiff {
    FileDiff::new(path, "", "(binary or large file content changed)\n")
}

pub struct ContentWork {
    pub path: String,
    pub content: Option<Body>,
    pub attrs: Attrs,
    pub backup: bool,
    /// What was there when the plan was made.
    pub existing: Option<FileStat>,
    /// A command (`%s` for the file) the new content must pass before it replaces the file.
    pub validate: Option<String>,
}

/// A content plan whose new content must pass `validate` (Ansible's argument of copy,
/// template and the line editors) before it is put in place. Attribute-only changes are not
/// validated, as in Ansible.
pub fn with_validate(plan: Plan, validate: Option<&str>) -> ModResult<Plan> {
    crate::hostfs::check_validate(validate)?;
    Ok(match plan {
        Plan::Change {
            preview,
            work: Work::Content(mut w),
        } => {
            if w.content.is_some() {
                w.validate = validate.map(str::to_string);
            }
            Plan::change(preview, Work::Content(w))
        }
        other => other,
    })
}

pub fn sha1_hex(data: &[u8]) -> String {
    hex::encode(Sha1::digest(data))
}

fn text_for_diff(data: &[u8]) -> Option<String> {
    if data.len() as u64 > MAX_DIFF_BYTES || data.contains(&0) {
        return None;
    }
    String::from_utf8(data.to_vec()).ok()
}

/// `known` is the file's stat and content when the caller already read them
/// (`Host::read_stat`); otherwise they are read here (content only for a diff).
pub async fn plan_content(
    ctx: &PlanContext<'_>,
    path: &str,
    new: impl Into<Body>,
    attrs: Attrs,
    backup: bool,
    known: Option<(Option<FileStat>, Option<Vec<u8>>)>,
) -> ModResult<Plan> {
    let (st, old) = match known {
        Some((mut st, old)) => {
            if let (Some(s), Some(o)) = (st.as_mut(), old.as_ref()) {
                s.checksum = Some(sha1_hex(o));
            }
            (st, old)
        }
        None => (ctx.host.stat(path, true).await?, None),
    };
    if let Some(st) = &st {
        if st.kind == FileKind::Directory {
            return Err(ModuleError::Failed(format!("{path} is a directory")));
        }
    }
    let new: Body = new.into();
    let checksum = new.sha1();
    let content_changed =
        st.as_ref().and_then(|s| s.checksum.as_deref()) != Some(checksum.as_str());
    let attr_changes = st
        .as_ref()
        .map(|s| attrs.differences(s))
        .unwrap_or_default();
    let base = ModuleResult::ok()
        .with("dest", path)
        .with("checksum", checksum.clone())
        .with("size", new.len());
    if !content_changed && attr_changes.is_empty() {
        return Ok(Plan::Done(base));
    }
    let mut preview = base;
    preview.changed = true;
    if ctx.diff {
        if content_changed && st.is_none() {
            preview.diffs.push(absent_diff(path, &new));
        } else if content_changed {
            let before = match (&old, &st) {
                (Some(o), _) => Some(o.clone()),
                (None, Some(s)) if s.size <= MAX_DIFF_BYTES => ctx.host.read(path).await?,
                _ => None,
            }
            .unwrap_or_default();
            match (text_for_diff(&before), new.diff_text()) {
                (Some(b), Some(a)) => preview.diffs.push(FileDiff::new(path, b, a)),
                _ => preview.diffs.push(binary_diff(path)),
            }
        }
        for (what, b, a) in &attr_changes {
            preview.diffs.push(FileDiff::new(
                path,
                format!("{what}: {b}\n"),
                format!("{what}: {a}\n"),
            ));
        }
    }
    let work = ContentWork {
        path: path.to_string(),
        content: if content_changed { Some(new) } else { None },
        attrs,
        backup,
        existing: st,
        validate: None,
    };
    Ok(Plan::change(preview, Work::Content(Box::new(work))))
}

pub async fn apply_content(
    ctx: &ApplyContext<'_>,
    mut preview: ModuleResult,
    w: ContentWork,
) -> ModResult<ModuleResult> {
    let p = sh_quote(&w.path);
    if w.backup && w.existing.is_some() && w.content.is_some() {
        let out = ctx
            .host
            .exec_ok(&format!(
                "b={p}.$(date +%Y-%m-%d@%H:%M:%S)~; cp -p -- {p} \"$b\" && printf %s \"$b\""
            ))
            .await?;
        preview
            .data
            .insert("backup_file".into(), out.stdout_str().into());
    }
    match &w.content {
        Some(c) => {
            ctx.host
                .write_validated(
                    &w.path,
                    c.source(),
                    &w.attrs,
                    w.existing.as_ref(),
                    w.validate.as_deref(),
                )
                .await?
        }
        None => {
            ctx.host.exec_ok(&w.attrs.commands(&p)).await?;
        }
    }
    Ok(preview)
}

/// A write into a directory that doesn't exist yet (copy to `dir/`, ini_file's new file):
/// `mkdir -p` the directory, then the write.
pub struct MakeDirFirst {
    pub dir: String,
    pub work: Work,
}

#[async_trait::async_trait]
impl crate::Apply for MakeDirFirst {
    async fn apply(
        self: Box<Self>,
        ctx: &ApplyContext<'_>,
        args: &crate::Args,
        preview: ModuleResult,
    ) -> ModResult<ModuleResult> {
        ctx.host
            .exec_ok(&format!("mkdir -p -- {}", sh_quote(&self.dir)))
            .await?;
        self.work.apply(ctx, args, preview).await
    }

    async fn discard(self: Box<Self>, ctx: &ApplyContext<'_>) -> ModResult<()> {
        self.work.discard(ctx).await
    }
}
