//! The Ansible filters real playbooks use, which minijinja does not ship.

use base64::Engine;
use minijinja::value::{Kwargs, Rest, ValueKind};
use minijinja::{Environment, Error, ErrorKind, Value};
use serde_json::{Map, Value as Json};

use super::{from_json, to_json, yaml_out};

fn err(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

fn json(v: &Value) -> Result<Json, Error> {
    to_json(v)
}

fn text(v: &Value) -> String {
    match v.as_str() {
        Some(s) => s.to_string(),
        None => v.to_string(),
    }
}

/// A pattern as Python's `re` reads it, with Ansible's `ignorecase`/`multiline` flags.
pub(super) fn regex(pat: &str, kw: &Kwargs) -> Result<timonel_modules::pyre::Regex, Error> {
    let flags = timonel_modules::pyre::Flags {
        ignorecase: flag(kw, "ignorecase")?,
        multiline: flag(kw, "multiline")?,
        dotall: false,
    };
    timonel_modules::pyre::Regex::with_flags(pat, flags)
        .map_err(|e| err(format!("invalid regular expression '{pat}': {e}")))
}

fn flag(kw: &Kwargs, name: &str) -> Result<bool, Error> {
    Ok(kw.get::<Option<bool>>(name)?.unwrap_or(false))
}

fn to_json_f(v: Value, kw: Kwargs) -> Result<Value, Error> {
    let _ = kw.get::<Option<bool>>("sort_keys")?;
    let _ = kw.get::<Option<bool>>("ensure_ascii")?;
    kw.assert_all_used()?;
    Ok(Value::from(crate::pyfmt::json(&json(&v)?)))
}

fn to_nice_json(v: Value, kw: Kwargs) -> Result<Value, Error> {
    let indent = kw.get::<Option<usize>>("indent")?.unwrap_or(4);
    let _ = kw.get::<Option<bool>>("sort_keys")?;
    let mut buf = Vec::new();
    let ind = " ".repeat(indent);
    let fmt = serde_json::ser::PrettyFormatter::with_indent(ind.as_bytes());
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    serde::Serialize::serialize(&json(&v)?, &mut ser).map_err(|e| err(e.to_string()))?;
    Ok(Value::from(String::from_utf8_lossy(&buf).into_owned()))
}

fn to_yaml(v: Value, kw: Kwargs) -> Result<Value, Error> {
    let indent = kw.get::<Option<usize>>("indent")?.unwrap_or(2);
    let _ = kw.get::<Option<i64>>("width")?;
    Ok(Value::from(yaml_out::to_yaml(&json(&v)?, indent)))
}

fn from_json_f(v: Value) -> Result<Value, Error> {
    let s = text(&v);
    let j: Json = serde_json::from_str(&s).map_err(|e| err(format!("from_json: {e}")))?;
    Ok(from_json(&j))
}

fn from_yaml(v: Value) -> Result<Value, Error> {
    let docs = crate::yaml::load_str("from_yaml", &text(&v))
        .map_err(|e| err(format!("from_yaml: {}", e.message)))?;
    Ok(docs
        .first()
        .map(|d| from_json(&d.to_json()))
        .unwrap_or(Value::from(())))
}

fn b64encode(v: Value) -> Value {
    Value::from(base64::engine::general_purpose::STANDARD.encode(text(&v)))
}

fn b64decode(v: Value) -> Result<Value, Error> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text(&v).trim())
        .map_err(|e| err(format!("b64decode: {e}")))?;
    Ok(Value::from(String::from_utf8_lossy(&bytes).into_owned()))
}

fn regex_replace(v: Value, pat: String, rep: Option<String>, kw: Kwargs) -> Result<Value, Error> {
    let re = regex(&pat, &kw)?;
    let rep = timonel_modules::files::edit::python_replacement(&rep.unwrap_or_default());
    let count = kw.get::<Option<usize>>("count")?.unwrap_or(0);
    let mandatory = kw.get::<Option<usize>>("mandatory_count")?.unwrap_or(0);
    kw.assert_all_used()?;
    let s = text(&v);
    if mandatory > 0 {
        let found = re.captures_iter(&s).count();
        if found != mandatory {
            return Err(err(format!(
                "regex_replace: expected {mandatory} matches of '{pat}', found {found}"
            )));
        }
    }
    Ok(Value::from(
        re.replacen(&s, count, rep.as_str()).into_owned(),
    ))
}

/// `regex_search(pat)`: the match or None; with group arguments (`'\\1'`, `'\\g<name>'`)
/// the list of those groups.
fn regex_search(v: Value, pat: String, groups: Rest<String>, kw: Kwargs) -> Result<Value, Error> {
    let re = regex(&pat, &kw)?;
    kw.assert_all_used()?;
    let s = text(&v);
    let Some(c) = re.captures(&s) else {
        return Ok(Value::from(()));
    };
    if groups.is_empty() {
        return Ok(Value::from(c.get(0).map(|m| m.as_str()).unwrap_or("")));
    }
    let mut out = vec![];
    for g in groups.iter() {
        let name = if let Some(n) = g.strip_prefix("\\g<").and_then(|r| r.strip_suffix('>')) {
            n
        } else if let Some(n) = g
            .strip_prefix('\\')
            .filter(|n| n.chars().all(|c| c.is_ascii_digit()))
        {
            n
        } else {
            return Err(err(format!("regex_search: unknown argument '{g}'")));
        };
        let m = match name.parse::<usize>() {
            Ok(i) => c.get(i),
            Err(_) => c.name(name),
        };
        out.push(
            m.map(|m| Value::from(m.as_str()))
                .unwrap_or(Value::from(())),
        );
    }
    Ok(Value::from(out))
}

/// Python's `re.findall`: whole matches, the one group, or a list per match of every group.
fn regex_findall(v: Value, pat: String, kw: Kwargs) -> Result<Value, Error> {
    let re = regex(&pat, &kw)?;
    kw.assert_all_used()?;
    let s = text(&v);
    let group = |c: &timonel_modules::pyre::Captures, i: usize| {
        Value::from(c.get(i).map(|m| m.as_str()).unwrap_or(""))
    };
    let out: Vec<Value> = re
        .captures_iter(&s)
        .map(|c| match c.len() {
            1 => group(&c, 0),
            2 => group(&c, 1),
            n => Value::from((1..n).map(|i| group(&c, i)).collect::<Vec<_>>()),
        })
        .collect();
    Ok(Value::from(out))
}

/// Python's `re.escape` (and `re_type='posix_basic'`, as Ansible's).
fn regex_escape(v: Value, re_type: Option<String>) -> Result<Value, Error> {
    let special: &str = match re_type.as_deref().unwrap_or("python") {
        "python" => "()[]{}?*+-|^$\\.&~# \t\n\r\u{b}\u{c}",
        "posix_basic" => "].[^$*\\",
        other => {
            return Err(err(format!(
                "regex_escape: invalid or unsupported re_type '{other}'"
            )))
        }
    };
    let mut out = String::new();
    for c in text(&v).chars() {
        if special.contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    Ok(Value::from(out))
}

fn deep_merge(a: &mut Json, b: &Json, recursive: bool, list_merge: &str) {
    match (a, b) {
        (Json::Object(x), Json::Object(y)) => {
            for (k, v) in y {
                match x.get_mut(k) {
                    Some(cur)
                        if recursive
                            && (cur.is_object() && v.is_object()
                                || cur.is_array() && v.is_array()) =>
                    {
                        deep_merge(cur, v, recursive, list_merge)
                    }
                    _ => {
                        x.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (Json::Array(x), Json::Array(y)) => match list_merge {
            "append" => x.extend(y.iter().cloned()),
            "prepend" => {
                let mut n = y.clone();
                n.append(x);
                *x = n;
            }
            "append_rp" | "prepend_rp" | "keep" => {
                if list_merge != "keep" {
                    x.retain(|e| !y.contains(e));
                    x.extend(y.iter().cloned());
                }
            }
            _ => *x = y.clone(),
        },
        (a, b) => *a = b.clone(),
    }
}

fn combine(v: Value, others: Rest<Value>, kw: Kwargs) -> Result<Value, Error> {
    let recursive = flag(&kw, "recursive")?;
    let list_merge = kw
        .get::<Option<String>>("list_merge")?
        .unwrap_or_else(|| "replace".into());
    let mut acc = json(&v)?;
    if !acc.is_object() {
        return Err(err("combine expects dictionaries"));
    }
    for o in others.iter() {
        let items = match json(o)? {
            Json::Array(a) => a,
            other => vec![other],
        };
        for item in items {
            if !item.is_object() {
                return Err(err("combine expects dictionaries"));
            }
            if recursive {
                deep_merge(&mut acc, &item, true, &list_merge);
            } else if let (Json::Object(a), Json::Object(b)) = (&mut acc, item) {
                for (k, x) in b {
                    a.insert(k, x);
                }
            }
        }
    }
    Ok(from_json(&acc))
}

/// key_name / value_name of dict2items and items2dict.
fn item_names(kw: &Kwargs) -> Result<(String, String), Error> {
    let kn = kw
        .get::<Option<String>>("key_name")?
        .unwrap_or_else(|| "key".into());
    let vn = kw
        .get::<Option<String>>("value_name")?
        .unwrap_or_else(|| "value".into());
    Ok((kn, vn))
}

fn dict2items(v: Value, kw: Kwargs) -> Result<Value, Error> {
    let (kn, vn) = item_names(&kw)?;
    let Json::Object(m) = json(&v)? else {
        return Err(err("dict2items requires a dictionary"));
    };
    let out: Vec<Json> = m
        .into_iter()
        .map(|(k, x)| {
            let mut e = Map::new();
            e.insert(kn.clone(), Json::String(k));
            e.insert(vn.clone(), x);
            Json::Object(e)
        })
        .collect();
    Ok(from_json(&Json::Array(out)))
}

fn items2dict(v: Value, kw: Kwargs) -> Result<Value, Error> {
    let (kn, vn) = item_names(&kw)?;
    let Json::Array(a) = json(&v)? else {
        return Err(err("items2dict requires a list"));
    };
    let mut out = Map::new();
    for e in a {
        let k = e
            .get(&kn)
            .ok_or_else(|| err(format!("items2dict: an item has no '{kn}'")))?;
        let k = k
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| k.to_string());
        out.insert(k, e.get(&vn).cloned().unwrap_or(Json::Null));
    }
    Ok(from_json(&Json::Object(out)))
}

fn basename(v: Value) -> Value {
    let s = text(&v);
    Value::from(s.rsplit('/').next().unwrap_or("").to_string())
}

/// Python's os.path.relpath, lexically (no symlinks resolved).
fn relpath(v: Value, start: Option<String>) -> Value {
    let parts = |p: &str| -> Vec<String> {
        let mut out: Vec<String> = vec![];
        for c in p.split('/').filter(|c| !c.is_empty() && *c != ".") {
            if c == ".." {
                out.pop();
            } else {
                out.push(c.to_string());
            }
        }
        out
    };
    let path = parts(&text(&v));
    let start = parts(&start.unwrap_or_else(|| ".".into()));
    let common = path.iter().zip(&start).take_while(|(a, b)| a == b).count();
    let mut rel: Vec<String> = vec!["..".to_string(); start.len() - common];
    rel.extend(path[common..].iter().cloned());
    Value::from(if rel.is_empty() {
        ".".to_string()
    } else {
        rel.join("/")
    })
}

fn dirname(v: Value) -> Value {
    let s = text(&v);
    Value::from(match s.rfind('/') {
        Some(0) => "/".to_string(),
        Some(i) => s[..i].to_string(),
        None => String::new(),
    })
}

fn splitext(v: Value) -> Value {
    let s = text(&v);
    let base_start = s.rfind('/').map(|i| i + 1).unwrap_or(0);
    match s[base_start..].rfind('.').filter(|i| *i > 0) {
        Some(i) => Value::from(vec![
            Value::from(&s[..base_start + i]),
            Value::from(&s[base_start + i..]),
        ]),
        None => Value::from(vec![Value::from(s.as_str()), Value::from("")]),
    }
}

fn bool_f(v: Value) -> Value {
    if v.is_none() || v.is_undefined() {
        return Value::from(false);
    }
    if v.kind() == ValueKind::Bool {
        return v;
    }
    let s = text(&v).to_lowercase();
    Value::from(matches!(s.trim(), "yes" | "on" | "1" | "true" | "y" | "t"))
}

fn int_f(v: Value, default: Option<i64>, kw: Kwargs) -> Result<Value, Error> {
    let base = kw.get::<Option<u32>>("base")?.unwrap_or(10);
    let d = default.unwrap_or(0);
    if let Ok(i) = i64::try_from(v.clone()) {
        return Ok(Value::from(i));
    }
    if let Ok(f) = f64::try_from(v.clone()) {
        return Ok(Value::from(f.trunc() as i64));
    }
    let s = text(&v);
    let s = s.trim();
    let parsed = if base == 10 {
        s.parse::<i64>()
            .ok()
            .or_else(|| s.parse::<f64>().ok().map(|f| f.trunc() as i64))
    } else {
        i64::from_str_radix(
            s.trim_start_matches("0x")
                .trim_start_matches("0o")
                .trim_start_matches("0b"),
            base,
        )
        .ok()
    };
    Ok(Value::from(parsed.unwrap_or(d)))
}

fn float_f(v: Value, default: Option<f64>) -> Value {
    if let Ok(f) = f64::try_from(v.clone()) {
        return Value::from(f);
    }
    Value::from(
        text(&v)
            .trim()
            .parse::<f64>()
            .unwrap_or(default.unwrap_or(0.0)),
    )
}

fn ternary(v: Value, yes: Value, no: Value, none: Option<Value>) -> Value {
    if v.is_none() {
        if let Some(n) = none {
            return n;
        }
    }
    if v.is_true() {
        yes
    } else {
        no
    }
}

fn mandatory(v: Value, msg: Option<String>) -> Result<Value, Error> {
    if v.is_undefined() {
        return Err(Error::new(
            ErrorKind::UndefinedError,
            msg.unwrap_or_else(|| "mandatory variable not defined".into()),
        ));
    }
    Ok(v)
}

fn hash(v: Value, alg: Option<String>) -> Result<Value, Error> {
    use sha2::Digest;
    let data = text(&v);
    let out = match alg.as_deref().unwrap_or("sha1") {
        "sha1" => hex::encode(sha1::Sha1::digest(data.as_bytes())),
        "sha256" => hex::encode(sha2::Sha256::digest(data.as_bytes())),
        "sha512" => hex::encode(sha2::Sha512::digest(data.as_bytes())),
        "md5" => hex::encode(md5::Md5::digest(data.as_bytes())),
        other => {
            return Err(err(format!(
                "hash: unsupported algorithm '{other}' (sha1, sha256, sha512, md5)"
            )))
        }
    };
    Ok(Value::from(out))
}

fn checksum(v: Value) -> Result<Value, Error> {
    hash(v, Some("sha1".into()))
}

/// Python's shlex.quote, which Ansible's `quote` is.
fn quote(v: Value) -> Value {
    let s = text(&v);
    if s.is_empty() {
        return Value::from("''");
    }
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "@%+=:,./-_".contains(c))
    {
        return Value::from(s);
    }
    Value::from(format!("'{}'", s.replace('\'', "'\"'\"'")))
}

fn flatten(v: Value, levels: Option<usize>) -> Result<Value, Error> {
    fn go(v: &Json, depth: Option<usize>, out: &mut Vec<Json>) {
        match v {
            Json::Array(a) if depth != Some(0) => {
                for x in a {
                    match x {
                        Json::Array(_) => go(x, depth.map(|d| d - 1), out),
                        Json::Null => {}
                        other => out.push(other.clone()),
                    }
                }
            }
            other => out.push(other.clone()),
        }
    }
    let mut out = vec![];
    match json(&v)? {
        Json::Array(a) => {
            for x in &a {
                match x {
                    Json::Array(_) => go(x, levels.map(|l| l.saturating_sub(1)), &mut out),
                    Json::Null => {}
                    other => out.push(other.clone()),
                }
            }
        }
        other => out.push(other),
    }
    Ok(from_json(&Json::Array(out)))
}

fn set_op(v: Value, other: Value, op: &str) -> Result<Value, Error> {
    let a = match json(&v)? {
        Json::Array(a) => a,
        _ => return Err(err(format!("{op} expects lists"))),
    };
    let b = match json(&other)? {
        Json::Array(b) => b,
        _ => return Err(err(format!("{op} expects lists"))),
    };
    let mut out: Vec<Json> = vec![];
    let mut push = |x: &Json| {
        if !out.contains(x) {
            out.push(x.clone())
        }
    };
    match op {
        "union" => a.iter().chain(b.iter()).for_each(&mut push),
        "intersect" => a.iter().filter(|x| b.contains(x)).for_each(&mut push),
        "difference" => a.iter().filter(|x| !b.contains(x)).for_each(&mut push),
        _ => a
            .iter()
            .filter(|x| !b.contains(x))
            .chain(b.iter().filter(|x| !a.contains(x)))
            .for_each(&mut push),
    }
    Ok(from_json(&Json::Array(out)))
}

fn zip_f(v: Value, others: Rest<Value>) -> Result<Value, Error> {
    let mut lists = vec![json(&v)?];
    for o in others.iter() {
        lists.push(json(o)?);
    }
    let lists: Vec<Vec<Json>> = lists
        .into_iter()
        .map(|l| if let Json::Array(a) = l { a } else { vec![] })
        .collect();
    let n = lists.iter().map(Vec::len).min().unwrap_or(0);
    let out: Vec<Json> = (0..n)
        .map(|i| Json::Array(lists.iter().map(|l| l[i].clone()).collect()))
        .collect();
    Ok(from_json(&Json::Array(out)))
}

/// `key | extract(container, morekeys)`: container[key][morekey...].
fn extract(key: Value, container: Value, more: Option<Value>) -> Result<Value, Error> {
    let mut v = container.get_item(&key)?;
    if let Some(more) = more {
        let keys: Vec<Value> = if more.kind() == ValueKind::Seq {
            more.try_iter()?.collect()
        } else {
            vec![more]
        };
        for k in keys {
            v = v.get_item(&k)?;
        }
    }
    Ok(v)
}

fn to_string_f(v: Value) -> Value {
    Value::from(text(&v))
}

fn comment(v: Value) -> Value {
    let s = text(&v);
    Value::from(format!(
        "#\n{}\n#",
        s.lines()
            .map(|l| format!("# {l}"))
            .collect::<Vec<_>>()
            .join("\n")
    ))
}

fn expanduser(v: Value) -> Value {
    let s = text(&v);
    match (s.strip_prefix('~'), std::env::var("HOME")) {
        (Some(rest), Ok(home)) if rest.is_empty() || rest.starts_with('/') => {
            Value::from(format!("{home}{rest}"))
        }
        _ => Value::from(s),
    }
}

pub fn register(env: &mut Environment<'static>) {
    super::fqcn::filter(env, "to_json", to_json_f);
    super::fqcn::filter(env, "to_nice_json", to_nice_json);
    super::fqcn::filter(env, "to_yaml", to_yaml);
    super::fqcn::filter(env, "to_nice_yaml", to_yaml);
    super::fqcn::filter(env, "from_json", from_json_f);
    super::fqcn::filter(env, "from_yaml", from_yaml);
    super::fqcn::filter(env, "b64encode", b64encode);
    super::fqcn::filter(env, "b64decode", b64decode);
    super::fqcn::filter(env, "regex_replace", regex_replace);
    super::fqcn::filter(env, "regex_search", regex_search);
    super::fqcn::filter(env, "regex_findall", regex_findall);
    super::fqcn::filter(env, "regex_escape", regex_escape);
    super::fqcn::filter(env, "combine", combine);
    super::fqcn::filter(env, "dict2items", dict2items);
    super::fqcn::filter(env, "items2dict", items2dict);
    super::fqcn::filter(env, "basename", basename);
    super::fqcn::filter(env, "dirname", dirname);
    super::fqcn::filter(env, "relpath", relpath);
    super::fqcn::filter(env, "splitext", splitext);
    super::fqcn::filter(env, "expanduser", expanduser);
    super::fqcn::filter(env, "bool", bool_f);
    super::fqcn::filter(env, "int", int_f);
    super::fqcn::filter(env, "float", float_f);
    super::fqcn::filter(env, "ternary", ternary);
    super::fqcn::filter(env, "mandatory", mandatory);
    super::fqcn::filter(env, "hash", hash);
    super::fqcn::filter(env, "checksum", checksum);
    super::fqcn::filter(env, "quote", quote);
    super::fqcn::filter(env, "flatten", flatten);
    super::fqcn::filter(env, "union", |a: Value, b: Value| set_op(a, b, "union"));
    super::fqcn::filter(env, "intersect", |a: Value, b: Value| {
        set_op(a, b, "intersect")
    });
    super::fqcn::filter(env, "difference", |a: Value, b: Value| {
        set_op(a, b, "difference")
    });
    super::fqcn::filter(env, "symmetric_difference", |a: Value, b: Value| {
        set_op(a, b, "symmetric_difference")
    });
    super::fqcn::filter(env, "zip", zip_f);
    super::fqcn::filter(env, "string", to_string_f);
    super::fqcn::filter(env, "extract", extract);
    super::fqcn::filter(env, "comment", comment);
}

#[cfg(test)]
mod relpath_tests {
    use super::relpath;
    use minijinja::Value;

    #[test]
    fn relative_as_python_computes_it() {
        let r = |p: &str, s: &str| relpath(Value::from(p), Some(s.into())).to_string();
        assert_eq!(r("/srv/app/sub/c.log", "/srv/app"), "sub/c.log");
        assert_eq!(r("/srv/app", "/srv/app/sub"), "..");
        assert_eq!(r("/srv/other/x", "/srv/app/"), "../other/x");
        assert_eq!(r("/srv/app", "/srv/app"), ".");
    }
}
