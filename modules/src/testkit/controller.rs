//! A fake controller: files in a temporary directory, a minimal renderer.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde_json::{Map, Value};

use crate::{Controller, FileSource};

/// A [`Controller`] for tests: controller files in a temporary directory (removed on drop),
/// `render` that only substitutes `{{ name }}` from its variables, a fixed inventory name.
pub struct FakeController {
    dir: PathBuf,
    vars: Map<String, Value>,
    hostname: String,
    notes: Mutex<Vec<String>>,
}

impl Default for FakeController {
    fn default() -> FakeController {
        use std::sync::atomic::{AtomicU64, Ordering};
        static N: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "timonel-testkit-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        FakeController {
            dir,
            vars: Map::new(),
            hostname: "testhost".into(),
            notes: Mutex::new(vec![]),
        }
    }
}

impl FakeController {
    pub fn new() -> FakeController {
        FakeController::default()
    }

    /// Where controller files live (created by the first [`file`](Self::file)); also a
    /// place for what a module writes on the controller (fetch's `dest`).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Adds a controller file that `find_file` finds under `name` (any source kind).
    /// Panics if it cannot be written.
    pub fn file(self, name: &str, content: impl AsRef<[u8]>) -> FakeController {
        let path = self.dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .unwrap_or_else(|e| panic!("cannot create {}: {e}", parent.display()));
        }
        std::fs::write(&path, content)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        self
    }

    /// A variable for `render` and `eval`.
    pub fn var(mut self, name: &str, value: impl Into<Value>) -> FakeController {
        self.vars.insert(name.into(), value.into());
        self
    }

    pub fn hostname(mut self, name: &str) -> FakeController {
        self.hostname = name.into();
        self
    }

    /// The progress notes modules reported, in order.
    pub fn notes(&self) -> Vec<String> {
        self.notes.lock().map(|n| n.clone()).unwrap_or_default()
    }

    fn lookup(&self, name: &str) -> Result<&Value, String> {
        self.vars
            .get(name)
            .ok_or_else(|| format!("'{name}' is undefined"))
    }
}

impl Drop for FakeController {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Controller for FakeController {
    fn find_file(&self, _kind: FileSource, name: &str) -> Result<PathBuf, String> {
        let p = Path::new(name);
        let path = if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.dir.join(name)
        };
        if path.exists() {
            Ok(path)
        } else {
            Err(format!("could not find '{name}' on the controller"))
        }
    }

    fn render(&self, source: &str, _name: &str) -> Result<String, String> {
        let re = regex::Regex::new(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}").expect("valid");
        let mut out = String::new();
        let mut last = 0;
        for c in re.captures_iter(source) {
            let m = c.get(0).expect("whole match");
            out.push_str(&source[last..m.start()]);
            match self.lookup(&c[1])? {
                Value::String(s) => out.push_str(s),
                v => out.push_str(&v.to_string()),
            }
            last = m.end();
        }
        out.push_str(&source[last..]);
        if out.contains("{{") || out.contains("{%") {
            return Err(
                "the test kit's controller only substitutes {{ name }}; test real Jinja with the engine"
                    .into(),
            );
        }
        Ok(out)
    }

    fn eval(&self, expr: &str) -> Result<Value, String> {
        self.lookup(expr.trim()).cloned()
    }

    fn inventory_hostname(&self) -> String {
        self.hostname.clone()
    }

    fn progress(&self, note: &str) {
        if let Ok(mut n) = self.notes.lock() {
            n.push(note.to_string());
        }
    }
}
