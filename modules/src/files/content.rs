//! "This path should hold these bytes with these attributes": the planner and applier that
//! copy, template, lineinfile, blockinfile and replace share.

use sha1::{Digest, Sha1};

use crate::connection::sh_quote;
use crate::hostfs::{Attrs, FileKind, FileStat};
use crate::{
    ApplyContext, FileDiff, ModResult, ModuleError, ModuleResult, Plan, PlanContext, Work,
};

/// Diffs of files larger than this are not shown.
const MAX_DIFF_BYTES: u64 = 1 << 20;

pub struct ContentWork {
    pub path: String,
    pub content: Option<Vec<u8>>,
    pub attrs: Attrs,
    pub backup: bool,
    /// What was there when the plan was made.
    pub existing: Option<FileStat>,
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
    new: Vec<u8>,
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
    let checksum = sha1_hex(&new);
    let content_changed =
        st.as_ref().and_then(|s| s.checksum.as_deref()) != Some(checksum.as_str());
    let attr_changes = st
        .as_ref()
        .map(|s| attrs.differences(s))
        .unwrap_or_default();
    let base = ModuleResult::ok()
        .with("dest", path)
        .with("checksum", checksum.clone())
        .with("size", new.len() as u64);
    if !content_changed && attr_changes.is_empty() {
        return Ok(Plan::Done(base));
    }
    let mut preview = base;
    preview.changed = true;
    if ctx.diff {
        if content_changed {
            let before = match (&old, &st) {
                (Some(o), _) => Some(o.clone()),
                (None, Some(s)) if s.size <= MAX_DIFF_BYTES => ctx.host.read(path).await?,
                _ => None,
            }
            .unwrap_or_default();
            match (text_for_diff(&before), text_for_diff(&new)) {
                (Some(b), Some(a)) => {
                    let mut d = FileDiff::new(path, b, a);
                    if st.is_none() {
                        d.before_header = format!("{path} (absent)");
                    }
                    preview.diffs.push(d);
                }
                _ => preview.diffs.push(FileDiff::new(
                    path,
                    "",
                    "(binary or large file content changed)\n",
                )),
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
                .write_atomic(&w.path, c, &w.attrs, w.existing.as_ref())
                .await?
        }
        None => {
            ctx.host.exec_ok(&w.attrs.commands(&p)).await?;
        }
    }
    Ok(preview)
}
