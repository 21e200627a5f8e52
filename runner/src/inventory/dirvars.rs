//! group_vars/ and host_vars/ directories: `<name>.yml`, `<name>.yaml`, `<name>.json`,
//! `<name>` alone, or a directory `<name>/` of such files (merged in name order).

use std::collections::HashMap;
use std::path::Path;

use serde_json::{Map, Value};

use crate::diag::Diagnostic;
use crate::yaml::load_file;

#[derive(Debug, Default, Clone)]
pub struct DirVars {
    pub groups: HashMap<String, Map<String, Value>>,
    pub hosts: HashMap<String, Map<String, Value>>,
}

impl DirVars {
    pub fn load(&mut self, base: &Path) -> Result<(), Diagnostic> {
        load_kind(&base.join("group_vars"), &mut self.groups)?;
        load_kind(&base.join("host_vars"), &mut self.hosts)
    }
}

fn load_kind(dir: &Path, into: &mut HashMap<String, Map<String, Value>>) -> Result<(), Diagnostic> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    let mut entries: Vec<_> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        let fname = p
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_string();
        if fname.starts_with('.') {
            continue;
        }
        let name = fname
            .strip_suffix(".yml")
            .or_else(|| fname.strip_suffix(".yaml"))
            .or_else(|| fname.strip_suffix(".json"))
            .unwrap_or(&fname)
            .to_string();
        let target = into.entry(name).or_default();
        if p.is_dir() {
            let mut files: Vec<_> = std::fs::read_dir(&p)
                .map_err(|e| Diagnostic::plain(format!("cannot read {}: {e}", p.display())))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| {
                    f.is_file()
                        && !f
                            .file_name()
                            .and_then(|n| n.to_str())
                            .unwrap_or(".")
                            .starts_with('.')
                })
                .collect();
            files.sort();
            for f in files {
                merge_file(&f, target)?;
            }
        } else if p.is_file() {
            merge_file(&p, target)?;
        }
    }
    Ok(())
}

pub fn load_vars_file(path: &Path) -> Result<Map<String, Value>, Diagnostic> {
    let mut m = Map::new();
    merge_file(path, &mut m)?;
    Ok(m)
}

fn merge_file(path: &Path, into: &mut Map<String, Value>) -> Result<(), Diagnostic> {
    let (_, docs) = load_file(path)?;
    for d in docs {
        match d.to_json() {
            Value::Object(m) => super::combine(into, &m),
            Value::Null => {}
            _ => {
                return Err(Diagnostic::at(
                    &d.pos,
                    format!(
                        "a variables file must be a mapping of names to values, not {}",
                        d.kind()
                    ),
                ))
            }
        }
    }
    Ok(())
}
