//! Ansible's Jinja tests: match/search/regex, version, task-result tests, path tests.

use minijinja::value::{Kwargs, ValueKind};
use minijinja::{Environment, Error, ErrorKind, Value};

fn text(v: &Value) -> String {
    v.as_str()
        .map(str::to_string)
        .unwrap_or_else(|| v.to_string())
}

/// Python's `re.match` / `re.search` / `re.fullmatch` of the value, with Ansible's
/// `ignorecase` and `multiline` flags.
fn regex_test(v: &Value, pat: &str, how: &str, kw: &Kwargs) -> Result<bool, Error> {
    let p = match how {
        "match" => format!("\\A(?:{pat})"),
        "fullmatch" => format!("\\A(?:{pat})\\z"),
        "search" => pat.to_string(),
        other => {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                format!("regex test: match_type '{other}' is not match, search or fullmatch"),
            ))
        }
    };
    let re = super::filters::regex(&p, kw)?;
    Ok(re.is_match(&text(v)))
}

/// Every item of `v` is in `x` (Ansible's `subset`, `issubset`).
fn subset(v: Value, x: Value) -> bool {
    v.try_iter()
        .map(|mut i| i.all(|e| x.try_iter().map(|mut j| j.any(|f| f == e)).unwrap_or(false)))
        .unwrap_or(false)
}

fn same_file(a: &std::path::Path, b: &std::path::Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}

/// Python's `os.path.ismount`: a directory on another device than its parent, or the same
/// inode as its parent (`/`).
fn is_mount(p: &std::path::Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let (Ok(m), Ok(parent)) = (p.symlink_metadata(), std::fs::metadata(p.join(".."))) else {
        return false;
    };
    m.is_dir() && (m.dev() != parent.dev() || m.ino() == parent.ino())
}

fn attr_true(v: &Value, name: &str) -> bool {
    v.get_attr(name).map(|x| x.is_true()).unwrap_or(false)
}

fn version_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    let parts = |s: &str| -> Vec<(u64, String)> {
        s.split(['.', '-', '+', '~'])
            .map(|p| {
                let digits: String = p.chars().take_while(|c| c.is_ascii_digit()).collect();
                (digits.parse().unwrap_or(0), p[digits.len()..].to_string())
            })
            .collect()
    };
    let (x, y) = (
        parts(a.trim_start_matches('v')),
        parts(b.trim_start_matches('v')),
    );
    for i in 0..x.len().max(y.len()) {
        let p = x.get(i).cloned().unwrap_or((0, String::new()));
        let q = y.get(i).cloned().unwrap_or((0, String::new()));
        let o = p.0.cmp(&q.0).then(p.1.cmp(&q.1));
        if o != std::cmp::Ordering::Equal {
            return o;
        }
    }
    std::cmp::Ordering::Equal
}

fn version(v: Value, other: String, op: Option<String>) -> Result<bool, Error> {
    use std::cmp::Ordering::*;
    let o = version_cmp(&text(&v), &other);
    Ok(match op.as_deref().unwrap_or("eq") {
        "lt" | "<" => o == Less,
        "le" | "<=" => o != Greater,
        "gt" | ">" => o == Greater,
        "ge" | ">=" => o != Less,
        "eq" | "==" | "=" => o == Equal,
        "ne" | "!=" | "<>" => o != Equal,
        bad => {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                format!("version test: unknown operator '{bad}'"),
            ))
        }
    })
}

pub fn register(env: &mut Environment<'static>) {
    super::fqcn::test(env, "match", |v: Value, p: String, kw: Kwargs| {
        regex_test(&v, &p, "match", &kw)
    });
    super::fqcn::test(env, "search", |v: Value, p: String, kw: Kwargs| {
        regex_test(&v, &p, "search", &kw)
    });
    super::fqcn::test(
        env,
        "regex",
        |v: Value, p: String, kw: Kwargs| -> Result<bool, Error> {
            let how = kw
                .get::<Option<String>>("match_type")?
                .unwrap_or_else(|| "search".into());
            regex_test(&v, &p, &how, &kw)
        },
    );
    super::fqcn::test(env, "version", version);
    super::fqcn::test(env, "version_compare", version);
    for name in ["failed", "failure"] {
        super::fqcn::test(env, name, |v: Value| attr_true(&v, "failed"));
    }
    for name in ["success", "succeeded", "successful"] {
        super::fqcn::test(env, name, |v: Value| !attr_true(&v, "failed"));
    }
    for name in ["changed", "change"] {
        super::fqcn::test(env, name, |v: Value| attr_true(&v, "changed"));
    }
    for name in ["skipped", "skip"] {
        super::fqcn::test(env, name, |v: Value| attr_true(&v, "skipped"));
    }
    super::fqcn::test(env, "unreachable", |v: Value| attr_true(&v, "unreachable"));
    super::fqcn::test(env, "reachable", |v: Value| !attr_true(&v, "unreachable"));
    for name in ["finished", "finish"] {
        // An async result without `finished` counts as finished, as in Ansible.
        super::fqcn::test(env, name, |v: Value| {
            v.get_attr("finished")
                .ok()
                .filter(|f| !f.is_undefined())
                .is_none_or(|f| f.is_true())
        });
    }
    super::fqcn::test(env, "started", |v: Value| attr_true(&v, "started"));
    super::fqcn::test(env, "any", |v: Value| {
        v.try_iter()
            .map(|mut i| i.any(|e| e.is_true()))
            .unwrap_or(false)
    });
    super::fqcn::test(env, "all", |v: Value| {
        v.try_iter()
            .map(|mut i| i.all(|e| e.is_true()))
            .unwrap_or(false)
    });
    for name in ["nan", "isnan"] {
        super::fqcn::test(env, name, |v: Value| {
            f64::try_from(v).is_ok_and(f64::is_nan)
        });
    }
    super::fqcn::test(env, "truthy", |v: Value| v.is_true());
    super::fqcn::test(env, "falsy", |v: Value| !v.is_true());
    // Python's `value in seq`: a substring of a string, an item of a list, a key of a dict.
    super::fqcn::test(env, "contains", |v: Value, x: Value| {
        match (v.as_str(), x.as_str()) {
            (Some(s), Some(sub)) => s.contains(sub),
            _ => v.try_iter().map(|mut i| i.any(|e| e == x)).unwrap_or(false),
        }
    });
    for name in ["subset", "issubset"] {
        super::fqcn::test(env, name, subset);
    }
    for name in ["superset", "issuperset"] {
        super::fqcn::test(env, name, |v: Value, x: Value| subset(x, v));
    }
    // Ansible's path tests, and their older `is_` names.
    let path = |v: &Value| std::path::PathBuf::from(text(v));
    for name in ["file", "is_file"] {
        super::fqcn::test(env, name, move |v: Value| path(&v).is_file());
    }
    for name in ["directory", "is_dir"] {
        super::fqcn::test(env, name, move |v: Value| path(&v).is_dir());
    }
    super::fqcn::test(env, "exists", move |v: Value| path(&v).exists());
    for name in ["link", "is_link"] {
        super::fqcn::test(env, name, move |v: Value| path(&v).is_symlink());
    }
    super::fqcn::test(env, "link_exists", move |v: Value| {
        path(&v).symlink_metadata().is_ok()
    });
    for name in ["abs", "is_abs"] {
        super::fqcn::test(env, name, |v: Value| text(&v).starts_with('/'));
    }
    for name in ["same_file", "is_same_file"] {
        super::fqcn::test(env, name, move |v: Value, o: Value| {
            same_file(&path(&v), &path(&o))
        });
    }
    for name in ["mount", "is_mount"] {
        super::fqcn::test(env, name, move |v: Value| is_mount(&path(&v)));
    }
    super::fqcn::test(env, "boolean", |v: Value| v.kind() == ValueKind::Bool);
    super::fqcn::test(env, "integer", |v: Value| {
        i64::try_from(v.clone()).is_ok() && v.kind() == ValueKind::Number && !text(&v).contains('.')
    });
    super::fqcn::test(env, "float", |v: Value| {
        v.kind() == ValueKind::Number && text(&v).contains('.')
    });
}

#[cfg(test)]
mod t {
    use super::version_cmp;
    #[test]
    fn versions() {
        assert_eq!(version_cmp("1.10.0", "1.9"), std::cmp::Ordering::Greater);
        assert_eq!(version_cmp("1.28", "1.28.0"), std::cmp::Ordering::Equal);
    }
}
