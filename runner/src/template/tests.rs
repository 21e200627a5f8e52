//! Ansible's Jinja tests: match/search/regex, version, task-result tests, path tests.

use minijinja::value::{Kwargs, ValueKind};
use minijinja::{Environment, Error, ErrorKind, Value};

fn text(v: &Value) -> String {
    v.as_str()
        .map(str::to_string)
        .unwrap_or_else(|| v.to_string())
}

fn re(pat: &str, kw: &Kwargs) -> Result<regex::Regex, Error> {
    regex::RegexBuilder::new(pat)
        .case_insensitive(kw.get::<Option<bool>>("ignorecase")?.unwrap_or(false))
        .multi_line(kw.get::<Option<bool>>("multiline")?.unwrap_or(false))
        .build()
        .map_err(|e| {
            Error::new(
                ErrorKind::InvalidOperation,
                format!("invalid regular expression '{pat}': {e}"),
            )
        })
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
    super::fqcn::test(
        env,
        "match",
        |v: Value, p: String, kw: Kwargs| -> Result<bool, Error> {
            let r = re(&format!("^(?:{p})"), &kw)?;
            Ok(r.is_match(&text(&v)))
        },
    );
    super::fqcn::test(
        env,
        "search",
        |v: Value, p: String, kw: Kwargs| -> Result<bool, Error> {
            Ok(re(&p, &kw)?.is_match(&text(&v)))
        },
    );
    super::fqcn::test(
        env,
        "regex",
        |v: Value, p: String, kw: Kwargs| -> Result<bool, Error> {
            let m = kw
                .get::<Option<String>>("match_type")?
                .unwrap_or_else(|| "search".into());
            let p = if m == "match" { format!("^(?:{p})") } else { p };
            Ok(re(&p, &kw)?.is_match(&text(&v)))
        },
    );
    super::fqcn::test(env, "version", version);
    super::fqcn::test(env, "version_compare", version);
    for name in ["failed", "failure"] {
        super::fqcn::test(env, name, |v: Value| attr_true(&v, "failed"));
    }
    for name in ["success", "succeeded"] {
        super::fqcn::test(env, name, |v: Value| !attr_true(&v, "failed"));
    }
    for name in ["changed", "change"] {
        super::fqcn::test(env, name, |v: Value| attr_true(&v, "changed"));
    }
    for name in ["skipped", "skip"] {
        super::fqcn::test(env, name, |v: Value| attr_true(&v, "skipped"));
    }
    super::fqcn::test(env, "truthy", |v: Value| v.is_true());
    super::fqcn::test(env, "falsy", |v: Value| !v.is_true());
    super::fqcn::test(env, "contains", |v: Value, x: Value| {
        v.try_iter().map(|mut i| i.any(|e| e == x)).unwrap_or(false)
    });
    super::fqcn::test(env, "subset", |v: Value, x: Value| {
        v.try_iter()
            .map(|mut i| i.all(|e| x.try_iter().map(|mut j| j.any(|f| f == e)).unwrap_or(false)))
            .unwrap_or(false)
    });
    super::fqcn::test(env, "superset", |v: Value, x: Value| {
        x.try_iter()
            .map(|mut i| i.all(|e| v.try_iter().map(|mut j| j.any(|f| f == e)).unwrap_or(false)))
            .unwrap_or(false)
    });
    super::fqcn::test(env, "file", |v: Value| {
        std::path::Path::new(&text(&v)).is_file()
    });
    super::fqcn::test(env, "directory", |v: Value| {
        std::path::Path::new(&text(&v)).is_dir()
    });
    super::fqcn::test(env, "exists", |v: Value| {
        std::path::Path::new(&text(&v)).exists()
    });
    super::fqcn::test(env, "link", |v: Value| {
        std::path::Path::new(&text(&v)).is_symlink()
    });
    super::fqcn::test(env, "abs", |v: Value| text(&v).starts_with('/'));
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
