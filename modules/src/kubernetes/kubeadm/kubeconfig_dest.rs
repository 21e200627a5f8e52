//! kubeadm_init's `kubeconfig_dest`: the admin kubeconfig written on the controller (for
//! k8s_apply there), owner-only, replaced whole or not at all, and only when it differs.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use async_trait::async_trait;

use crate::{Apply, ApplyContext, Args, ModResult, ModuleError, ModuleResult};

/// Whether the file at `dest` already holds `content` with mode 0600.
pub fn up_to_date(dest: &str, content: &str) -> bool {
    let p = Path::new(dest);
    std::fs::read(p).is_ok_and(|b| b == content.as_bytes())
        && std::fs::metadata(p).is_ok_and(|m| m.permissions().mode() & 0o777 == 0o600)
}

/// Writes `content` to `dest`, owner-only and whole (see private_file).
pub fn write(dest: &str, content: &str) -> ModResult<()> {
    crate::private_file::write(Path::new(dest), content.as_bytes()).map_err(|e| {
        ModuleError::Failed(format!(
            "kubeconfig_dest: cannot write {dest} on the controller: {e}"
        ))
    })
}

/// The kubeconfig a result carries (a secret value, never printed).
pub fn of(result: &ModuleResult) -> Option<String> {
    result
        .data
        .get("kubeconfig")
        .and_then(|v| v.as_str())
        .map(str::to_string)
}

/// Another step's work, then the kubeconfig it returned written to `dest`.
pub struct ThenWrite {
    pub inner: Box<dyn Apply>,
    pub dest: String,
}

#[async_trait]
impl Apply for ThenWrite {
    async fn apply(
        self: Box<Self>,
        ctx: &ApplyContext<'_>,
        args: &Args,
        preview: ModuleResult,
    ) -> ModResult<ModuleResult> {
        let mut r = self.inner.apply(ctx, args, preview).await?;
        if let Some(k) = of(&r) {
            if !up_to_date(&self.dest, &k) {
                write(&self.dest, &k)?;
                r.changed = true;
            }
        }
        Ok(r)
    }

    async fn discard(self: Box<Self>, ctx: &ApplyContext<'_>) -> ModResult<()> {
        self.inner.discard(ctx).await
    }
}

/// Only the write: the node was already initialised and its kubeconfig read back.
pub struct WriteOnly {
    pub dest: String,
}

#[async_trait]
impl Apply for WriteOnly {
    async fn apply(
        self: Box<Self>,
        _: &ApplyContext<'_>,
        _: &Args,
        preview: ModuleResult,
    ) -> ModResult<ModuleResult> {
        if let Some(k) = of(&preview) {
            write(&self.dest, &k)?;
        }
        Ok(preview)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_owner_only_and_compared() {
        let d = std::env::temp_dir().join(format!("timonel-kc-{}", std::process::id()));
        let dest = d.join("sub/admin.conf").display().to_string();
        assert!(!up_to_date(&dest, "a"));
        write(&dest, "a").unwrap();
        assert!(up_to_date(&dest, "a"));
        assert!(!up_to_date(&dest, "b"));
        let mode = std::fs::metadata(&dest).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(!up_to_date(&dest, "a"), "a readable copy must be rewritten");
        std::fs::remove_dir_all(&d).unwrap();
    }
}
