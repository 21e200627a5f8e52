//! `lookup(...)` and `query(...)`: env, file, pipe, template, vars, items/list, first_found,
//! sequence, password (password.rs).

use minijinja::value::{Kwargs, Rest};
use minijinja::{Environment, Error, ErrorKind, State, Value};

fn err(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

fn text(v: &Value) -> String {
    v.as_str()
        .map(str::to_string)
        .unwrap_or_else(|| v.to_string())
}

/// Where controller files are looked for: the role, then the playbook directory (Ansible's
/// `ansible_search_path`).
fn search_bases(state: &State) -> Vec<std::path::PathBuf> {
    ["role_path", "playbook_dir"]
        .iter()
        .filter_map(|v| {
            state
                .lookup(v)
                .and_then(|v| v.as_str().map(std::path::PathBuf::from))
        })
        .collect()
}

/// Controller paths are relative to the role, then the playbook directory.
pub(super) fn resolve(state: &State, name: &str, sub: &str) -> std::path::PathBuf {
    let p = std::path::Path::new(name);
    if p.is_absolute() {
        return p.to_path_buf();
    }
    search_bases(state)
        .into_iter()
        .flat_map(|b| [b.join(sub), b])
        .map(|b| b.join(p))
        .find(|c| c.exists())
        .unwrap_or_else(|| p.to_path_buf())
}

fn run(state: &State, name: &str, terms: &[Value], kw: &Kwargs) -> Result<Vec<Value>, Error> {
    let name = super::fqcn::short(name);
    let raw_terms = terms;
    let mut out = vec![];
    let terms: Vec<Value> = terms
        .iter()
        .flat_map(|t| {
            // Lists are flattened into terms; a mapping is one term (first_found's {files, paths}).
            if t.as_str().is_none()
                && t.kind() != minijinja::value::ValueKind::Map
                && t.try_iter().is_ok()
            {
                t.try_iter()
                    .map(|i| i.collect::<Vec<_>>())
                    .unwrap_or_default()
            } else {
                vec![t.clone()]
            }
        })
        .collect();
    match name {
        "env" => {
            let default = kw.get::<Option<Value>>("default")?;
            for t in &terms {
                out.push(match std::env::var(text(t)) {
                    Ok(v) => Value::from(v),
                    Err(_) => default.clone().unwrap_or(Value::from("")),
                });
            }
        }
        "file" => {
            for t in &terms {
                let p = resolve(state, &text(t), "files");
                let s = crate::limits::read_to_string(&p).map_err(|e| err(format!("lookup('file'): cannot read {}: {e}", p.display())))?;
                let strip = kw.get::<Option<bool>>("rstrip")?.unwrap_or(true);
                out.push(Value::from(if strip { s.trim_end().to_string() } else { s }));
            }
        }
        "pipe" => {
            for t in &terms {
                // In a process group of its own, so that an interrupt ends it and its children.
                use std::os::unix::process::CommandExt;
                let child = std::process::Command::new("sh")
                    .arg("-c")
                    .arg(text(t))
                    .process_group(0)
                    .stdin(std::process::Stdio::null())
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .map_err(|e| err(format!("lookup('pipe'): {e}")))?;
                let _registered = crate::children::running(child.id() as i32);
                let o = child.wait_with_output().map_err(|e| err(format!("lookup('pipe'): {e}")))?;
                if !o.status.success() {
                    return Err(err(format!("lookup('pipe'): command '{}' failed: {}", text(t), String::from_utf8_lossy(&o.stderr).trim())));
                }
                out.push(Value::from(String::from_utf8_lossy(&o.stdout).trim_end().to_string()));
            }
        }
        "template" => out.extend(super::lookup_template::render_all(state, &terms, kw)?),
        "vars" => {
            let default = kw.get::<Option<Value>>("default")?;
            for t in &terms {
                let Some(name) = t.as_str() else {
                    return Err(err(format!("Variable name must be 'str' not '{}'.", super::data_filters::python_type(t))));
                };
                match state.lookup(name).filter(|v| !v.is_undefined()) {
                    Some(v) => out.push(v),
                    None => match &default {
                        Some(d) => out.push(d.clone()),
                        None => return Err(Error::new(ErrorKind::UndefinedError, format!("No variable named '{name}' was found."))),
                    },
                }
            }
        }
        "items" | "list" | "flattened" => out.extend(terms),
        "first_found" => {
            if let Some(p) = super::first_found::lookup(state, &terms, kw)? {
                out.push(p);
            }
        }
        "sequence" => out.extend(super::lookup_sequence::sequence(raw_terms, kw)?),
        "subelements" => {
            let terms = raw_terms.iter().map(super::to_json).collect::<Result<Vec<_>, _>>()?;
            let pairs = super::lookup_subelements::subelements(&terms).map_err(err)?;
            out.extend(pairs.iter().map(super::from_json));
        }
        "password" => {
            let opts = password_options(kw)?;
            let dir = state
                .lookup("playbook_dir")
                .and_then(|v| v.as_str().map(str::to_string));
            for t in &terms {
                let req = super::password::parse(&text(t), &opts).map_err(err)?;
                let path = super::password::resolve(&req.path, dir.as_deref());
                out.push(Value::from(super::password::lookup(&path, &req).map_err(err)?));
            }
        }
        "indexed_items" => {
            for (i, t) in terms.iter().enumerate() {
                out.push(Value::from(vec![Value::from(i), t.clone()]));
            }
        }
        "random_choice" => {
            if !terms.is_empty() {
                out.push(terms[rand::random_range(0..terms.len())].clone());
            }
        }
        "together" | "nested" => {
            // The terms here are already flattened; these two need the lists themselves.
            let lists: Vec<Vec<Value>> = raw_terms
                .iter()
                .map(|t| t.try_iter().map(|i| i.collect()).unwrap_or_else(|_| vec![t.clone()]))
                .collect();
            out.extend(super::lookups_more::combine_lists(&lists, name == "nested"));
        }
        "dict" => {
            for t in &terms {
                out.extend(super::lookups_more::dict_items(t)?);
            }
        }
        "varnames" => out.extend(super::lookups_more::varnames(state, &terms)?),
        "inventory_hostnames" => out.extend(super::lookups_more::inventory_hostnames(state, &terms)?),
        "fileglob" => {
            for t in &terms {
                let t = text(t);
                // As ansible-core: a pattern with a directory globs in the first place that
                // directory is found; a bare one in each base's files/, then the base, until
                // one of them has matches.
                let (dirs, pat) = match t.rsplit_once('/') {
                    Some((d, p)) => {
                        let d = resolve(state, if d.is_empty() { "/" } else { d }, "files");
                        (if d.is_dir() { vec![d] } else { vec![] }, p)
                    }
                    None => (search_bases(state).into_iter().flat_map(|b| [b.join("files"), b]).collect(), t.as_str()),
                };
                for d in dirs {
                    let found = super::lookups_more::fileglob(&d, pat)?;
                    if !found.is_empty() {
                        out.extend(found);
                        break;
                    }
                }
            }
        }
        other => return Err(err(format!("unknown lookup plugin '{other}' (env, file, pipe, template, vars, items, list, first_found, sequence, password, dict, varnames, inventory_hostnames, fileglob)"))),
    }
    Ok(out)
}

/// The password lookup's keyword arguments (`lookup('password', p, length=8, seed=x)`).
fn password_options(kw: &Kwargs) -> Result<super::password::Options, Error> {
    let chars = kw.get::<Option<Value>>("chars")?.map(|c| match c.as_str() {
        Some(s) => vec![s.to_string()],
        None => c
            .try_iter()
            .map(|i| i.map(|v| text(&v)).collect())
            .unwrap_or_default(),
    });
    let seed = kw.get::<Option<Value>>("seed")?.map(|s| text(&s));
    Ok(super::password::Options {
        length: kw.get::<Option<Value>>("length")?.map(|l| text(&l)),
        chars,
        seed,
        encrypt: kw
            .get::<Option<Value>>("encrypt")?
            .is_some_and(|e| !e.is_none() && e.is_true()),
    })
}

fn lookup(state: &State, name: String, terms: Rest<Value>, kw: Kwargs) -> Result<Value, Error> {
    let wantlist = kw.get::<Option<bool>>("wantlist")?.unwrap_or(false);
    let res = run(state, &name, &terms, &kw)?;
    if wantlist || matches!(super::fqcn::short(&name), "items" | "list") {
        return Ok(Value::from(res));
    }
    Ok(match res.len() {
        0 => Value::from(""),
        1 => res.into_iter().next().unwrap_or_default(),
        // Python's `",".join(ran)`: strings are joined; other items stay a list.
        _ if res
            .iter()
            .all(|v| v.kind() == minijinja::value::ValueKind::String) =>
        {
            Value::from(res.iter().map(text).collect::<Vec<_>>().join(","))
        }
        _ => Value::from(res),
    })
}

fn query(state: &State, name: String, terms: Rest<Value>, kw: Kwargs) -> Result<Value, Error> {
    Ok(Value::from(run(state, &name, &terms, &kw)?))
}

pub fn register(env: &mut Environment<'static>) {
    env.add_function("lookup", lookup);
    env.add_function("query", query);
    env.add_function("q", query);
}
