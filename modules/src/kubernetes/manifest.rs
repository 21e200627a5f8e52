//! The objects a task names: from `src` (a file of one or many YAML documents, a directory,
//! a glob), `definition` (a mapping, a list, or a multi-document string) or `template`
//! (rendered with the task's variables). Empty documents are skipped and `kind: List` is
//! unpacked, as kubectl does; every object is checked before anything is sent.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::{Args, Controller, FileSource, ModResult, ModuleError};

/// One object and where it was written (`app.yaml:12`), for errors.
#[derive(Debug, Clone)]
pub struct Manifest {
    pub obj: Map<String, Value>,
    pub origin: String,
}

impl Manifest {
    pub fn str(&self, key: &str) -> &str {
        self.obj
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    pub fn meta(&self, key: &str) -> &str {
        self.obj
            .get("metadata")
            .and_then(|m| m.get(key))
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    pub fn kind(&self) -> &str {
        self.str("kind")
    }

    pub fn name(&self) -> &str {
        self.meta("name")
    }

    pub fn namespace(&self) -> &str {
        self.meta("namespace")
    }

    /// (group, version) of `apiVersion` (`apps/v1` → ("apps", "v1"), `v1` → ("", "v1")).
    pub fn group_version(&self) -> (&str, &str) {
        let av = self.str("apiVersion");
        av.split_once('/').unwrap_or(("", av))
    }

    /// "Deployment web/app" or "Namespace web", as results and diffs name objects.
    pub fn label(&self) -> String {
        match self.namespace() {
            "" => format!("{} {}", self.kind(), self.name()),
            ns => format!("{} {ns}/{}", self.kind(), self.name()),
        }
    }

    pub fn set_namespace(&mut self, ns: Option<&str>) {
        let meta = self
            .obj
            .entry("metadata")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(m) = meta {
            match ns {
                Some(ns) => {
                    m.insert("namespace".into(), Value::String(ns.into()));
                }
                None => {
                    m.remove("namespace");
                }
            }
        }
    }
}

fn failed(msg: String) -> ModuleError {
    ModuleError::Failed(msg)
}

/// The task's objects, in the order written.
pub fn load(args: &Args, controller: &dyn Controller) -> ModResult<Vec<Manifest>> {
    let mut out = vec![];
    if let Some(src) = args.string("src") {
        for path in src_files(&src, controller)? {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| failed(format!("cannot read {}: {e}", path.display())))?;
            documents(&text, &path.display().to_string(), controller, &mut out)?;
        }
    }
    if let Some(t) = args.get("template") {
        let name = match t {
            Value::String(s) => s.clone(),
            Value::Object(m) => m
                .get("path")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            _ => String::new(),
        };
        let path = controller
            .find_file(FileSource::Templates, &name)
            .map_err(failed)?;
        let text = std::fs::read_to_string(&path)
            .map_err(|e| failed(format!("cannot read {}: {e}", path.display())))?;
        let rendered = controller
            .render(&text, &name)
            .map_err(|e| failed(format!("template {name}: {e}")))?;
        documents(&rendered, &name, controller, &mut out)?;
    }
    match args.get("definition") {
        None | Some(Value::Null) => {}
        Some(Value::String(text)) => documents(text, "definition", controller, &mut out)?,
        Some(Value::Array(items)) => {
            for (i, v) in items.iter().enumerate() {
                push(v.clone(), format!("definition[{i}]"), &mut out)?;
            }
        }
        Some(v) => push(v.clone(), "definition".into(), &mut out)?,
    }
    Ok(out)
}

/// A file, every `.yaml`/`.yml`/`.json` file of a directory (sorted), or a glob's matches.
fn src_files(src: &str, controller: &dyn Controller) -> ModResult<Vec<PathBuf>> {
    if src.contains(['*', '?', '[']) {
        let (dir, pattern) = match src.rsplit_once('/') {
            Some((d, p)) => (d.to_string(), p.to_string()),
            None => (".".to_string(), src.to_string()),
        };
        if dir.contains(['*', '?', '[']) {
            return Err(failed(format!(
                "src {src}: only the file name part may hold a pattern"
            )));
        }
        let dir = controller
            .find_file(FileSource::Files, &dir)
            .map_err(failed)?;
        let re = glob_regex(&pattern);
        let mut files: Vec<PathBuf> = read_dir(&dir)?
            .into_iter()
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| re.is_match(n))
            })
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(failed(format!("src {src} matches no file")));
        }
        return Ok(files);
    }
    let path = controller
        .find_file(FileSource::Files, src)
        .map_err(failed)?;
    if path.is_dir() {
        let mut files: Vec<PathBuf> = read_dir(&path)?
            .into_iter()
            .filter(|p| {
                p.extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| matches!(e, "yaml" | "yml" | "json"))
            })
            .collect();
        files.sort();
        return Ok(files);
    }
    Ok(vec![path])
}

fn read_dir(dir: &Path) -> ModResult<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| failed(format!("cannot read {}: {e}", dir.display())))?;
    Ok(entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect())
}

fn glob_regex(pattern: &str) -> regex::Regex {
    let mut re = String::from("^");
    for c in pattern.chars() {
        match c {
            '*' => re.push_str("[^/]*"),
            '?' => re.push_str("[^/]"),
            c => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    re.push('$');
    regex::Regex::new(&re).unwrap_or_else(|_| regex::Regex::new("^$").expect("valid"))
}

fn documents(
    text: &str,
    name: &str,
    controller: &dyn Controller,
    out: &mut Vec<Manifest>,
) -> ModResult<()> {
    for doc in controller.yaml_documents(text, name).map_err(failed)? {
        push(doc.value, format!("{name}:{}", doc.line), out)?;
    }
    Ok(())
}

/// Checks one document and adds its object(s): null is skipped, a List is unpacked.
fn push(v: Value, origin: String, out: &mut Vec<Manifest>) -> ModResult<()> {
    let obj = match v {
        Value::Null => return Ok(()),
        Value::Object(m) => m,
        other => {
            return Err(failed(format!(
                "{origin}: a Kubernetes object is a mapping with apiVersion and kind, not {}",
                kind_of(&other)
            )))
        }
    };
    let field = |k: &str| obj.get(k).and_then(Value::as_str).unwrap_or_default();
    for key in ["apiVersion", "kind"] {
        if field(key).is_empty() {
            return Err(failed(format!(
                "{origin}: the object has no {key} (every document needs apiVersion and kind)"
            )));
        }
    }
    if field("kind").ends_with("List") && obj.get("items").is_some_and(Value::is_array) {
        let items = obj.get("items").and_then(Value::as_array).cloned();
        for (i, item) in items.unwrap_or_default().into_iter().enumerate() {
            push(item, format!("{origin} items[{i}]"), out)?;
        }
        return Ok(());
    }
    let m = Manifest { obj, origin };
    if m.name().is_empty() {
        return Err(failed(format!(
            "{}: the {} has no metadata.name",
            m.origin,
            m.kind()
        )));
    }
    out.push(m);
    Ok(())
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Array(_) => "a list",
        Value::String(_) => "a string",
        Value::Number(_) => "a number",
        Value::Bool(_) => "a boolean",
        _ => "this",
    }
}
