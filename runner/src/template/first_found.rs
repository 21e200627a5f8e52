//! `lookup('first_found', ...)` and `with_first_found`, as ansible-core's first_found plugin
//! builds its search list: plain names, lists of names, and `{files, paths, skip}` mappings
//! (names split on `,;`, paths on `,:;`), each relative name then looked up in the role and
//! the playbook directory, in `<subdir>/` first.

use std::path::{Path, PathBuf};

use serde_json::Value;

/// The names to try, in order, and whether finding none is fine (`skip: true`).
pub fn search_list(
    terms: &[Value],
    files: &[Value],
    paths: &[Value],
    skip: bool,
) -> (Vec<String>, bool) {
    let mut out = vec![];
    let mut skip = skip;
    let terms: Vec<Value> = if terms.is_empty() {
        files.to_vec()
    } else {
        terms.to_vec()
    };
    for term in &terms {
        let (files, paths) = match term {
            Value::Object(m) => {
                if let Some(s) = m.get("skip").and_then(timonel_modules::spec::to_bool) {
                    skip = s;
                }
                (
                    m.get("files").map(as_list).unwrap_or_default(),
                    m.get("paths")
                        .map(as_list)
                        .unwrap_or_else(|| paths.to_vec()),
                )
            }
            Value::Array(a) => {
                let (inner, s) = search_list(a, &[], paths, skip);
                out.extend(inner);
                skip = s;
                continue;
            }
            Value::String(_) => (vec![term.clone()], paths.to_vec()),
            other => (vec![Value::String(other.to_string())], paths.to_vec()),
        };
        let files = split_on(&files, &[',', ';']);
        let paths = split_on(&paths, &[',', ':', ';']);
        if paths.is_empty() {
            out.extend(files);
        } else {
            for p in &paths {
                for f in &files {
                    out.push(Path::new(p).join(f).display().to_string());
                }
            }
        }
    }
    (out, skip)
}

fn as_list(v: &Value) -> Vec<Value> {
    match v {
        Value::Array(a) => a.clone(),
        Value::Null => vec![],
        other => vec![other.clone()],
    }
}

fn split_on(list: &[Value], seps: &[char]) -> Vec<String> {
    list.iter()
        .flat_map(|v| {
            let s = v
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| v.to_string());
            s.split(seps)
                .map(|x| x.trim().to_string())
                .filter(|x| !x.is_empty())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The first name that exists: absolute as is, relative under each base (`<base>/<subdir>/`
/// first, then `<base>/`).
pub fn first(names: &[String], bases: &[PathBuf], subdir: &str) -> Option<PathBuf> {
    names.iter().find_map(|n| {
        let p = Path::new(n);
        if p.is_absolute() {
            return p.exists().then(|| p.to_path_buf());
        }
        bases
            .iter()
            .flat_map(|b| [b.join(subdir).join(p), b.join(p)])
            .find(|c| c.exists())
            // Ansible gives the absolute path.
            .map(|c| std::path::absolute(&c).unwrap_or(c))
    })
}

/// The subdirectory a looped task's first_found searches first, as ansible-core picks it
/// from the action's name.
pub fn subdir_for(action: &str) -> &'static str {
    ["template", "var", "file"]
        .into_iter()
        .find(|s| action.contains(s))
        .map_or("files", |s| match s {
            "template" => "templates",
            "var" => "vars",
            _ => "files",
        })
}

/// The lookup: found path, `None` when nothing was found and `skip` allows it.
pub fn lookup(
    state: &minijinja::State,
    terms: &[minijinja::Value],
    kw: &minijinja::value::Kwargs,
) -> Result<Option<minijinja::Value>, minijinja::Error> {
    let json = |v: Option<minijinja::Value>| -> Result<Vec<Value>, minijinja::Error> {
        Ok(match v {
            Some(v) => as_list(&super::to_json(&v)?),
            None => vec![],
        })
    };
    let terms = terms
        .iter()
        .map(super::to_json)
        .collect::<Result<Vec<_>, _>>()?;
    let files = json(kw.get("files")?)?;
    let paths = json(kw.get("paths")?)?;
    let skip = kw.get::<Option<bool>>("skip")?.unwrap_or(false);
    let (names, skip) = search_list(&terms, &files, &paths, skip);
    let var = |n: &str| state.lookup(n).and_then(|v| v.as_str().map(PathBuf::from));
    let bases: Vec<PathBuf> = [var("role_path"), var("playbook_dir")]
        .into_iter()
        .flatten()
        .collect();
    match first(&names, &bases, "files") {
        Some(p) => Ok(Some(minijinja::Value::from(p.display().to_string()))),
        None if skip => Ok(None),
        None => Err(minijinja::Error::new(
            minijinja::ErrorKind::InvalidOperation,
            format!(
                "lookup('first_found'): none of these files was found: {}",
                names.join(", ")
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn builds_the_search_list_as_ansible_does() {
        let (l, skip) = search_list(
            &[
                json!("a.yml"),
                json!({"files": ["b.yml", "c.yml;d.yml"], "paths": ["vars", "x:y"]}),
            ],
            &[],
            &[],
            false,
        );
        assert_eq!(
            l,
            [
                "a.yml",
                "vars/b.yml",
                "vars/c.yml",
                "vars/d.yml",
                "x/b.yml",
                "x/c.yml",
                "x/d.yml",
                "y/b.yml",
                "y/c.yml",
                "y/d.yml"
            ]
        );
        assert!(!skip);
        let (l, skip) = search_list(&[json!({"files": ["z"], "skip": true})], &[], &[], false);
        assert_eq!(l, ["z"]);
        assert!(skip);
        let (l, _) = search_list(&[], &[json!("f1"), json!("f2")], &[json!("p")], false);
        assert_eq!(l, ["p/f1", "p/f2"]);
    }

    #[test]
    fn looks_in_the_role_then_the_play() {
        let d = tempfile::tempdir().unwrap();
        let role = d.path().join("roles/r");
        std::fs::create_dir_all(role.join("vars")).unwrap();
        std::fs::write(role.join("vars/Debian.yml"), "x: 1").unwrap();
        std::fs::write(d.path().join("play.yml"), "").unwrap();
        let bases = [role.clone(), d.path().to_path_buf()];
        let names = vec!["vars/nope.yml".to_string(), "vars/Debian.yml".to_string()];
        assert_eq!(
            first(&names, &bases, "files"),
            Some(role.join("vars/Debian.yml"))
        );
        assert_eq!(
            first(&["Debian.yml".into()], &bases, "vars"),
            Some(role.join("vars/Debian.yml"))
        );
        assert_eq!(
            first(&["play.yml".into()], &bases, "files"),
            Some(d.path().join("play.yml"))
        );
        assert_eq!(first(&["none".into()], &bases, "files"), None);
        assert_eq!(subdir_for("include_vars"), "vars");
        assert_eq!(subdir_for("template"), "templates");
        assert_eq!(subdir_for("debug"), "files");
    }
}
