//! What the kernel and init modules end with: small configuration files to rewrite or remove
//! and commands to run, in a fixed order. The plan step reads each file once
//! ([`ConfigFile::read`]), decides its new text, and the default `apply` carries the steps out.

use crate::connection::sh_quote;
use crate::hostfs::{Attrs, FileStat};
use crate::{ApplyContext, FileDiff, ModResult, ModuleError, ModuleResult, PlanContext};

/// A configuration file as the plan found it and as it should be (`None`: absent).
#[derive(Debug, Clone)]
pub struct ConfigFile {
    pub path: String,
    stat: Option<FileStat>,
    pub before: Option<String>,
    pub after: Option<String>,
}

impl ConfigFile {
    pub async fn read(ctx: &PlanContext<'_>, path: &str) -> ModResult<ConfigFile> {
        let (stat, bytes) = ctx.host.read_stat(path).await?;
        let before = bytes.map(|b| String::from_utf8_lossy(&b).into_owned());
        Ok(ConfigFile {
            path: path.to_string(),
            stat,
            after: before.clone(),
            before,
        })
    }

    pub fn changed(&self) -> bool {
        self.before != self.after
    }

    pub fn diff(&self) -> FileDiff {
        let mut d = FileDiff::new(
            &self.path,
            self.before.clone().unwrap_or_default(),
            self.after.clone().unwrap_or_default(),
        );
        if self.before.is_none() {
            d.before_header = format!("{} (absent)", self.path);
        }
        if self.after.is_none() {
            d.after_header = format!("{} (absent)", self.path);
        }
        d
    }
}

/// A non-file state shown as a two-line diff (`running kernel: net.ipv4.ip_forward`).
pub fn state_diff(what: &str, before: &str, after: &str) -> FileDiff {
    FileDiff::new(what, format!("{before}\n"), format!("{after}\n"))
}

#[derive(Debug)]
pub enum Step {
    /// Write (or remove) a file whose plan found a change.
    File(ConfigFile),
    /// A shell command that must succeed.
    Run(String),
}

#[derive(Debug, Default)]
pub struct Steps(pub Vec<Step>);

impl Steps {
    pub fn file(&mut self, f: ConfigFile) {
        if f.changed() {
            self.0.push(Step::File(f));
        }
    }
    pub fn run(&mut self, cmd: impl Into<String>) {
        self.0.push(Step::Run(cmd.into()));
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Adds the diffs of the changed files and the given state changes to a preview.
pub fn add_diffs(preview: &mut ModuleResult, files: &[&ConfigFile], states: Vec<FileDiff>) {
    preview
        .diffs
        .extend(files.iter().filter(|f| f.changed()).map(|f| f.diff()));
    preview.diffs.extend(states);
}

pub async fn apply_steps(
    ctx: &ApplyContext<'_>,
    preview: ModuleResult,
    Steps(steps): Steps,
) -> ModResult<ModuleResult> {
    for step in steps {
        match step {
            Step::File(f) => match &f.after {
                Some(text) => {
                    ctx.host
                        .write_atomic(&f.path, text.as_bytes(), &Attrs::default(), f.stat.as_ref())
                        .await?
                }
                None => {
                    ctx.host
                        .exec_ok(&format!("rm -f -- {}", sh_quote(&f.path)))
                        .await
                        .map_err(|e| {
                            ModuleError::Failed(format!("cannot remove {}: {e}", f.path))
                        })?;
                }
            },
            Step::Run(cmd) => {
                ctx.host.exec_ok(&cmd).await?;
            }
        }
    }
    Ok(preview)
}
