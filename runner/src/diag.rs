//! Diagnostics that point at a file, line and column with a snippet of the source.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A loaded source file, shared by every node parsed from it.
#[derive(Debug)]
pub struct Source {
    pub path: PathBuf,
    pub text: String,
}

/// Where something was written.
#[derive(Debug, Clone)]
pub struct Pos {
    pub src: Arc<Source>,
    pub line: usize,
    pub col: usize,
}

impl Pos {
    pub fn new(src: &Arc<Source>, line: usize, col: usize) -> Pos {
        Pos {
            src: src.clone(),
            line,
            col,
        }
    }

    pub fn path(&self) -> &Path {
        &self.src.path
    }
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.src.path.display(), self.line, self.col)
    }
}

#[derive(Debug, Clone)]
pub struct Diagnostic {
    pub message: String,
    pub pos: Option<Pos>,
    pub help: Option<String>,
    /// Reported, but not a reason to stop before running.
    pub warning: bool,
}

impl Diagnostic {
    pub fn at(pos: &Pos, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            message: message.into(),
            pos: Some(pos.clone()),
            help: None,
            warning: false,
        }
    }
    pub fn plain(message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            message: message.into(),
            pos: None,
            help: None,
            warning: false,
        }
    }
    pub fn warning(mut self) -> Diagnostic {
        self.warning = true;
        self
    }
    pub fn help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.warning { "warning" } else { "error" };
        writeln!(f, "{kind}: {}", self.message)?;
        if let Some(pos) = &self.pos {
            writeln!(f, "  --> {pos}")?;
            if let Some(line) = pos.src.text.lines().nth(pos.line.saturating_sub(1)) {
                let num = pos.line.to_string();
                let pad = " ".repeat(num.len());
                writeln!(f, "{pad} |")?;
                writeln!(f, "{num} | {line}")?;
                let caret_at = pos.col.saturating_sub(1).min(line.len());
                let lead: String = line[..caret_at]
                    .chars()
                    .map(|c| if c == '\t' { '\t' } else { ' ' })
                    .collect();
                writeln!(f, "{pad} | {lead}^")?;
            }
        }
        if let Some(h) = &self.help {
            writeln!(f, "  = help: {h}")?;
        }
        Ok(())
    }
}

/// Several diagnostics reported together (the whole playbook is validated before running).
#[derive(Debug, Default)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.0 {
            writeln!(f, "{d}")?;
        }
        Ok(())
    }
}

impl From<Diagnostic> for Diagnostics {
    fn from(d: Diagnostic) -> Self {
        Diagnostics(vec![d])
    }
}
