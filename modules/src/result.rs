use serde_json::{Map, Value};

/// What `--check` registers for a value that only applying can tell (a join token, a server's
/// address): later tasks in the same plan accept it and preview what they would do with it.
pub const KNOWN_AFTER_APPLY: &str = "(known after apply)";

/// A before/after pair the output layer renders as a unified diff.
#[derive(Debug, Clone, Default)]
pub struct FileDiff {
    pub before_header: String,
    pub after_header: String,
    pub before: String,
    pub after: String,
}

#[derive(Debug, Clone, Default)]
pub struct ModuleResult {
    pub changed: bool,
    pub failed: bool,
    pub skipped: bool,
    pub msg: Option<String>,
    /// Return values, available to `register`.
    pub data: Map<String, Value>,
    pub diffs: Vec<FileDiff>,
    /// Facts to set on the host (`set_fact`).
    pub facts: Option<Map<String, Value>>,
    /// Keys of `data` whose values are secrets (a join token, a kubeconfig): registered as
    /// they are, shown nowhere (text at any verbosity, JSON).
    pub secret: Vec<String>,
}

impl ModuleResult {
    pub fn ok() -> Self {
        Self::default()
    }
    pub fn changed() -> Self {
        Self {
            changed: true,
            ..Self::default()
        }
    }
    pub fn failed(msg: impl Into<String>) -> Self {
        Self {
            failed: true,
            msg: Some(msg.into()),
            ..Self::default()
        }
    }
    pub fn with(mut self, key: &str, v: impl Into<Value>) -> Self {
        self.data.insert(key.to_string(), v.into());
        self
    }
    /// A return value that is registered but never shown.
    pub fn with_secret(mut self, key: &str, v: impl Into<Value>) -> Self {
        self.data.insert(key.to_string(), v.into());
        if !self.secret.iter().any(|k| k == key) {
            self.secret.push(key.to_string());
        }
        self
    }
    pub fn with_msg(mut self, msg: impl Into<String>) -> Self {
        self.msg = Some(msg.into());
        self
    }
    pub fn with_diff(mut self, d: FileDiff) -> Self {
        self.diffs.push(d);
        self
    }
}

impl FileDiff {
    pub fn new(path: &str, before: impl Into<String>, after: impl Into<String>) -> Self {
        FileDiff {
            before_header: path.to_string(),
            after_header: path.to_string(),
            before: before.into(),
            after: after.into(),
        }
    }
}
