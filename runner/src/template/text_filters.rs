//! Jinja2's string filters minijinja lacks (truncate, center, wordwrap, with Jinja2's
//! positional arguments), Ansible's `random` (with `seed`), `urlsplit` and `urldecode`.

use minijinja::value::{Kwargs, Rest, ValueKind};
use minijinja::{Environment, Error, ErrorKind, Value};

use super::py_random::PyRandom;

fn err(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

fn text(v: &Value) -> String {
    v.as_str()
        .map(str::to_string)
        .unwrap_or_else(|| v.to_string())
}

/// An argument given by position or by name.
fn arg<'a, T: minijinja::value::ArgType<'a, Output = T>>(
    pos: Option<T>,
    kw: &'a Kwargs,
    name: &'a str,
) -> Result<Option<T>, Error> {
    match pos {
        Some(v) => Ok(Some(v)),
        None => kw.get::<Option<T>>(name),
    }
}

/// The `i`th positional argument, converted.
fn nth<T: TryFrom<Value>>(args: &[Value], i: usize, what: &str) -> Result<Option<T>, Error> {
    match args.get(i) {
        None => Ok(None),
        Some(v) => T::try_from(v.clone())
            .map(Some)
            .map_err(|_| err(format!("invalid value for {what}: {v}"))),
    }
}

/// Jinja2's `truncate(length=255, killwords=False, end='...', leeway=5)`.
fn truncate(v: Value, args: Rest<Value>, kw: Kwargs) -> Result<Value, Error> {
    let length = arg(nth::<usize>(&args, 0, "length")?, &kw, "length")?.unwrap_or(255);
    let killwords = arg(nth::<bool>(&args, 1, "killwords")?, &kw, "killwords")?.unwrap_or(false);
    let end = arg(nth::<String>(&args, 2, "end")?, &kw, "end")?.unwrap_or_else(|| "...".into());
    let leeway = arg(nth::<usize>(&args, 3, "leeway")?, &kw, "leeway")?.unwrap_or(5);
    kw.assert_all_used()?;
    let s = text(&v);
    let chars: Vec<char> = s.chars().collect();
    let end_len = end.chars().count();
    if length < end_len {
        return Err(err(format!(
            "truncate: expected length >= {end_len}, got {length}"
        )));
    }
    if chars.len() <= length + leeway {
        return Ok(Value::from(s));
    }
    let head: String = chars[..length - end_len].iter().collect();
    let head = if killwords {
        head
    } else {
        // Python's `rsplit(" ", 1)[0]`: up to the last space, or all of it.
        head.rsplit_once(' ')
            .map(|(a, _)| a.to_string())
            .unwrap_or(head)
    };
    Ok(Value::from(head + &end))
}

/// Python's `str.center(width)`, as Jinja2's `center(width=80)`.
fn center(v: Value, width: Option<usize>, kw: Kwargs) -> Result<Value, Error> {
    let width = arg(width, &kw, "width")?.unwrap_or(80);
    kw.assert_all_used()?;
    let s = text(&v);
    let len = s.chars().count();
    if width <= len {
        return Ok(Value::from(s));
    }
    let marg = width - len;
    let left = marg / 2 + (marg & width & 1);
    Ok(Value::from(format!(
        "{}{s}{}",
        " ".repeat(left),
        " ".repeat(marg - left)
    )))
}

/// Jinja2's `wordwrap(width=79, break_long_words=True, wrapstring=None,
/// break_on_hyphens=True)`: each line wrapped as Python's textwrap does.
fn wordwrap(v: Value, args: Rest<Value>, kw: Kwargs) -> Result<Value, Error> {
    let opts: Kwargs = [
        (
            "width",
            arg(nth::<usize>(&args, 0, "width")?, &kw, "width")?.map(Value::from),
        ),
        (
            "break_long_words",
            arg(
                nth::<bool>(&args, 1, "break_long_words")?,
                &kw,
                "break_long_words",
            )?
            .map(Value::from),
        ),
        (
            "wrapstring",
            arg(nth::<String>(&args, 2, "wrapstring")?, &kw, "wrapstring")?.map(Value::from),
        ),
        (
            "break_on_hyphens",
            arg(
                nth::<bool>(&args, 3, "break_on_hyphens")?,
                &kw,
                "break_on_hyphens",
            )?
            .map(Value::from),
        ),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.map(|v| (k, v)))
    .collect();
    kw.assert_all_used()?;
    minijinja_contrib::filters::wordwrap(&Value::from(text(&v)), opts)
}

/// Ansible's `random`: an integer below `end` (from `start`, by `step`) or an item of a
/// list; with `seed`, Python's `random.Random(seed)`, so the result is Ansible's.
fn random(
    v: Value,
    start: Option<i64>,
    step: Option<i64>,
    seed: Option<Value>,
    kw: Kwargs,
) -> Result<Value, Error> {
    let start = arg(start, &kw, "start")?;
    let step = arg(step, &kw, "step")?;
    let seed = arg(seed, &kw, "seed")?;
    kw.assert_all_used()?;
    let mut r = match &seed {
        Some(s) if !s.is_none() => match i64::try_from(s.clone()) {
            Ok(i) if s.kind() == ValueKind::Number => PyRandom::from_int(i),
            _ => PyRandom::from_text(&text(s)),
        },
        _ => PyRandom::from_os(),
    };
    if v.kind() == ValueKind::Number {
        let end =
            i64::try_from(v.clone()).map_err(|_| err("random: the end must be an integer"))?;
        let start = start.unwrap_or(0);
        let step = step.filter(|s| *s != 0).unwrap_or(1);
        // CPython's randrange(start, end, step).
        let n = if step > 0 {
            (end - start + step - 1) / step
        } else {
            (end - start + step + 1) / step
        };
        if n <= 0 {
            return Err(err(format!(
                "random: empty range for randrange({start}, {end}, {step})"
            )));
        }
        return Ok(Value::from(start + step * r.below(n as usize) as i64));
    }
    if start.is_some() || step.is_some() {
        return Err(err(
            "random: start and step can only be used with integer values",
        ));
    }
    let items: Vec<Value> = match v.as_str() {
        Some(s) => s.chars().map(|c| Value::from(c.to_string())).collect(),
        None => v
            .try_iter()
            .map_err(|_| err("random: the value must be an integer or a sequence"))?
            .collect(),
    };
    if items.is_empty() {
        return Err(err("random: cannot choose from an empty sequence"));
    }
    Ok(items[r.below(items.len())].clone())
}

/// Ansible's `urlsplit(query='')`: Python's urllib.parse.urlsplit as a mapping, or one part.
fn urlsplit(v: Value, query: Option<String>) -> Result<Value, Error> {
    let s = text(&v);
    let parts = split_url(&s);
    match query.as_deref().filter(|q| !q.is_empty()) {
        None => Ok(super::from_json(&serde_json::Value::Object(parts))),
        Some(q) => parts
            .get(q)
            .cloned()
            .map(|j| super::from_json(&j))
            .ok_or_else(|| err(format!("urlsplit: unknown URL component: {q}"))),
    }
}

/// The parts of a URL as Python's urlsplit names them.
fn split_url(s: &str) -> serde_json::Map<String, serde_json::Value> {
    use serde_json::Value as J;
    let (scheme, rest) = match s.split_once(':') {
        Some((sch, r))
            if !sch.is_empty()
                && sch.starts_with(|c: char| c.is_ascii_alphabetic())
                && sch
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) =>
        {
            (sch.to_ascii_lowercase(), r)
        }
        _ => (String::new(), s),
    };
    let (netloc, rest) = match rest.strip_prefix("//") {
        Some(r) => {
            let end = r.find(['/', '?', '#']).unwrap_or(r.len());
            (r[..end].to_string(), &r[end..])
        }
        None => (String::new(), rest),
    };
    let (rest, fragment) = rest.split_once('#').unwrap_or((rest, ""));
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (userinfo, hostport) = match netloc.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, netloc.as_str()),
    };
    let (username, password) = match userinfo {
        Some(u) => match u.split_once(':') {
            Some((a, b)) => (J::from(a), J::from(b)),
            None => (J::from(u), J::Null),
        },
        None => (J::Null, J::Null),
    };
    let (host, port) = if let Some(r) = hostport.strip_prefix('[') {
        let (h, after) = r.split_once(']').unwrap_or((r, ""));
        (h.to_string(), after.strip_prefix(':'))
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (hostport.to_string(), None),
        }
    };
    let mut m = serde_json::Map::new();
    m.insert("fragment".into(), J::from(fragment));
    m.insert(
        "hostname".into(),
        if host.is_empty() {
            J::Null
        } else {
            J::from(host.to_lowercase())
        },
    );
    m.insert("netloc".into(), J::from(netloc.clone()));
    m.insert("password".into(), password);
    m.insert("path".into(), J::from(path));
    m.insert(
        "port".into(),
        port.and_then(|p| p.parse::<u16>().ok())
            .map(J::from)
            .unwrap_or(J::Null),
    );
    m.insert("query".into(), J::from(query));
    m.insert("scheme".into(), J::from(scheme));
    m.insert("username".into(), username);
    m
}

/// Python's `urllib.parse.quote(s, safe)`, with `+` for spaces in a query string.
fn quote(s: &str, for_qs: bool) -> String {
    use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
    const PATH: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'_')
        .remove(b'.')
        .remove(b'-')
        .remove(b'~')
        .remove(b'/');
    const QS: &AsciiSet = &PATH.add(b'/');
    let q = utf8_percent_encode(s, if for_qs { QS } else { PATH }).to_string();
    if for_qs {
        q.replace("%20", "+")
    } else {
        q
    }
}

/// Jinja2's `urlencode`: a string quoted for a URL path; a mapping or a list of pairs as a
/// query string (`()` gives '').
fn urlencode(v: Value) -> Result<Value, Error> {
    let pair =
        |k: &Value, x: &Value| format!("{}={}", quote(&text(k), true), quote(&text(x), true));
    let out = match v.kind() {
        ValueKind::Map => v
            .try_iter()?
            .map(|k| Ok(pair(&k, &v.get_item(&k)?)))
            .collect::<Result<Vec<_>, Error>>()?
            .join("&"),
        ValueKind::Seq | ValueKind::Iterable => v
            .try_iter()?
            .map(|item| {
                let k = item.get_item(&Value::from(0))?;
                let x = item.get_item(&Value::from(1))?;
                Ok(pair(&k, &x))
            })
            .collect::<Result<Vec<_>, Error>>()?
            .join("&"),
        _ => quote(&text(&v), false),
    };
    Ok(Value::from(out))
}

/// Ansible's `urldecode`: Python's `unquote_plus`.
fn urldecode(v: Value) -> Value {
    let s = text(&v).replace('+', " ");
    Value::from(
        percent_encoding::percent_decode_str(&s)
            .decode_utf8_lossy()
            .into_owned(),
    )
}

pub fn register(env: &mut Environment<'static>) {
    super::fqcn::filter(env, "truncate", truncate);
    super::fqcn::filter(env, "center", center);
    super::fqcn::filter(env, "wordwrap", wordwrap);
    super::fqcn::filter(env, "random", random);
    super::fqcn::filter(env, "urlsplit", urlsplit);
    super::fqcn::filter(env, "urldecode", urldecode);
    // Replaces minijinja's, so a list of pairs and `()` work as in Jinja2.
    env.add_filter("urlencode", urlencode);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(src: &str) -> String {
        let mut env = Environment::new();
        register(&mut env);
        env.render_str(src, ()).unwrap()
    }

    #[test]
    fn truncate_as_jinja2() {
        // Expected values: Jinja2 3.1.
        assert_eq!(render("{{ 'foo bar baz qux'|truncate(9) }}"), "foo...");
        // Within the leeway (5 by default) nothing is cut.
        assert_eq!(
            render("{{ 'foo bar baz qux'|truncate(12) }}"),
            "foo bar baz qux"
        );
        assert_eq!(
            render("{{ 'foo bar baz qux'|truncate(9, leeway=0) }}"),
            "foo..."
        );
        assert_eq!(
            render("{{ 'foo bar baz qux'|truncate(9, True, leeway=0) }}"),
            "foo ba..."
        );
        assert_eq!(
            render("{{ 'foo bar baz qux'|truncate(11, False, '!', 0) }}"),
            "foo bar!"
        );
        assert_eq!(
            render("{{ ('x' * 300) | truncate }}"),
            format!("{}...", "x".repeat(252))
        );
    }

    #[test]
    fn center_as_python() {
        // Python: 'ab'.center(5) == '  ab ', 'abc'.center(6) == ' abc  '
        assert_eq!(render("[{{ 'ab'|center(5) }}]"), "[  ab ]");
        assert_eq!(render("[{{ 'abc'|center(6) }}]"), "[ abc  ]");
        assert_eq!(render("[{{ 'abc'|center(2) }}]"), "[abc]");
        assert_eq!(render("{{ 'a'|center|length }}"), "80");
    }

    #[test]
    fn wordwrap_as_jinja2() {
        assert_eq!(
            render("{{ 'one two three four'|wordwrap(9) }}"),
            "one two\nthree\nfour"
        );
        assert_eq!(
            render("{{ 'one two three'|wordwrap(7, wrapstring='|') }}"),
            "one two|three"
        );
        assert_eq!(render("{{ 'abcdefghij'|wordwrap(4) }}"), "abcd\nefgh\nij");
        assert_eq!(
            render("{{ 'abcdefghij'|wordwrap(4, False) }}"),
            "abcdefghij"
        );
    }

    #[test]
    fn random_with_seed_as_python() {
        // Python 3.11: Random('x').randrange(0, 100) == 80,
        //   Random('x').choice(['a','b','c','d']) == 'c', Random(42).randrange(0, 60) == 40,
        //   Random('x').randrange(10, 100, 5) == 60, Random(-7).randrange(1000) == 331
        assert_eq!(render("{{ 100 | random(seed='x') }}"), "80");
        assert_eq!(render("{{ ['a','b','c','d'] | random(seed='x') }}"), "c");
        assert_eq!(render("{{ 60 | random(seed=42) }}"), "40");
        assert_eq!(render("{{ 100 | random(10, 5, seed='x') }}"), "60");
        assert_eq!(render("{{ 1000 | random(seed=-7) }}"), "331");
        let r: i64 = render("{{ 10 | random(start=5) }}").parse().unwrap();
        assert!((5..10).contains(&r));
    }

    #[test]
    fn urlsplit_as_python() {
        let u = "'http://user:pw@www.Acme.com:9000/dir/index.html?query=term#frag'";
        assert_eq!(
            render(&format!("{{{{ {u}|urlsplit('hostname') }}}}")),
            "www.acme.com"
        );
        assert_eq!(render(&format!("{{{{ {u}|urlsplit('port') }}}}")), "9000");
        assert_eq!(
            render(&format!("{{{{ {u}|urlsplit('netloc') }}}}")),
            "user:pw@www.Acme.com:9000"
        );
        assert_eq!(
            render(&format!("{{{{ {u}|urlsplit('path') }}}}")),
            "/dir/index.html"
        );
        assert_eq!(
            render(&format!("{{{{ {u}|urlsplit('query') }}}}")),
            "query=term"
        );
        assert_eq!(
            render(&format!("{{{{ {u}|urlsplit('fragment') }}}}")),
            "frag"
        );
        assert_eq!(
            render(&format!("{{{{ ({u}|urlsplit).username }}}}")),
            "user"
        );
        assert_eq!(
            render("{{ ('x.org/a'|urlsplit).scheme }}|{{ ('x.org/a'|urlsplit).path }}"),
            "|x.org/a"
        );
        assert_eq!(render("{{ 'http://a/'|urlsplit('password') }}"), "None");
    }

    #[test]
    fn urlencode_as_jinja2() {
        assert_eq!(render("{{ 'a b/c&d' | urlencode }}"), "a%20b/c%26d");
        assert_eq!(
            render("{{ {'foo': 'bar', 'baz': 'a b'} | urlencode }}"),
            "foo=bar&baz=a+b"
        );
        assert_eq!(
            render("{{ [('a', 1), ('b/', 2)] | urlencode }}"),
            "a=1&b%2F=2"
        );
        assert_eq!(render("[{{ () | urlencode }}]"), "[]");
    }

    #[test]
    fn urldecode_as_python() {
        assert_eq!(render("{{ 'a%20b+c%2Fd'|urldecode }}"), "a b c/d");
    }
}
