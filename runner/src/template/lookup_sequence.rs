//! `lookup('sequence', ...)` and `with_sequence`, as ansible-core's sequence plugin: the
//! shortcut form `[start-]end[/stride][:format]` or `key=value` terms, keyword arguments as
//! defaults for every term, printf-style formats, and its errors.

use std::sync::OnceLock;

use minijinja::value::Kwargs;
use minijinja::{Environment, Error, ErrorKind, Value};

const FIELDS: [&str; 5] = ["start", "end", "stride", "count", "format"];

fn err(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

/// The options of one term, as strings until checked (ansible-core sets them as config
/// options and converts them to integers afterwards).
#[derive(Clone, Default)]
struct Opts {
    start: Option<String>,
    end: Option<String>,
    stride: Option<String>,
    count: Option<String>,
    format: Option<String>,
}

impl Opts {
    fn set(&mut self, key: &str, v: String) {
        match key {
            "start" => self.start = Some(v),
            "end" => self.end = Some(v),
            "stride" => self.stride = Some(v),
            "count" => self.count = Some(v),
            _ => self.format = Some(v),
        }
    }
}

/// An integer option: Python's `Decimal(value)` with no fraction, as ansible-core's
/// `ensure_type(..., 'integer')` accepts ("3", "-2", "4.0").
fn integer(name: &str, v: &Option<String>) -> Result<Option<i64>, Error> {
    let Some(s) = v else { return Ok(None) };
    let t = s.trim();
    let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
    let digits = whole.strip_prefix(['-', '+']).unwrap_or(whole);
    let ok = !digits.is_empty()
        && digits.chars().all(|c| c.is_ascii_digit())
        && frac.chars().all(|c| c == '0');
    match ok.then(|| whole.parse::<i64>().ok()).flatten() {
        Some(n) => Ok(Some(n)),
        None => Err(err(format!(
            "Config '{name}' for 'ansible.builtin.sequence' lookup plugin from 'Direct' has an invalid value."
        ))),
    }
}

/// The shortcut form, `[start-]end[/stride][:format]` (numbers as the plugin's
/// `0?x?[0-9a-f]+`, checked as integers later).
fn shortcut(term: &str) -> Option<Opts> {
    static RE: OnceLock<regex::Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        regex::Regex::new(r"(?i)^((0?x?[0-9a-f]+)-)?(0?x?[0-9a-f]+)(/(0?x?[0-9a-f]+))?(:(.+))?$")
            .expect("static pattern")
    });
    let c = re.captures(term)?;
    let get = |i: usize| c.get(i).map(|m| m.as_str().to_string());
    Some(Opts {
        start: get(2),
        end: get(3),
        stride: get(5),
        count: None,
        format: get(7),
    })
}

/// `key=value` words; any other key is an error.
fn key_values(term: &str, opts: &mut Opts) -> Result<(), Error> {
    let mut unknown = vec![];
    for word in term.split_whitespace() {
        // A word without '=' is what Ansible's parse_kv calls _raw_params.
        let (k, v) = word.split_once('=').unwrap_or(("_raw_params", word));
        if FIELDS.contains(&k) {
            opts.set(k, v.to_string());
        } else if !unknown.contains(&format!("'{k}'")) {
            unknown.push(format!("'{k}'"));
        }
    }
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(err(format!(
            "unrecognized arguments to with_sequence: [{}]",
            unknown.join(", ")
        )))
    }
}

/// Python's `format % i` through minijinja's printf-style `format` filter.
fn printf(format: &str, i: i64) -> Result<String, Error> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    let env = ENV.get_or_init(Environment::new);
    let expr = env.compile_expression("f | format(i)")?;
    expr.eval(minijinja::context! { f => format, i => i })
        .map(|v| v.to_string())
        .map_err(|_| err(format!("problem formatting {i} with '{format}'")))
}

/// One term's numbers, or an empty sequence where ansible-core makes one (count=0,
/// stride=0) without an error.
fn generate(term: &str, o: &Opts, max: usize) -> Result<Vec<Value>, Error> {
    let start = integer("start", &o.start)?.unwrap_or(1);
    let mut end = integer("end", &o.end)?;
    let stride = integer("stride", &o.stride)?.unwrap_or(1);
    let count = integer("count", &o.count)?;
    let format = o.format.clone().unwrap_or_else(|| "%d".into());
    match (count, end) {
        (None, None) => return Err(err("must specify count or end in with_sequence")),
        (Some(_), Some(_)) => return Err(err("can't specify both count and end in with_sequence")),
        (Some(0), None) => return Ok(vec![]),
        (Some(c), None) => end = Some(start + c * stride - 1),
        (None, Some(_)) => {}
    }
    let end = end.unwrap_or(start);
    if stride > 0 && end < start {
        return Err(err("to count backwards make stride negative"));
    }
    if stride < 0 && end > start {
        return Err(err("to count forward don't make stride negative"));
    }
    if stride == 0 {
        return Ok(vec![]);
    }
    if format.matches('%').count() != 1 {
        return Err(err(format!("bad formatting string: {format}")));
    }
    // Python's range(start, end + adjust, stride).
    let stop = i128::from(end) + if stride > 0 { 1 } else { -1 };
    let n = (stop - i128::from(start) + i128::from(stride) - stride.signum() as i128)
        / i128::from(stride);
    if n > max as i128 {
        return Err(err(format!(
            "lookup('sequence'): '{term}' has {n} items, more than {max}; {}",
            crate::limits::SEQUENCE.explain()
        )));
    }
    (0..n.max(0) as i64)
        .map(|k| printf(&format, start + k * stride).map(Value::from))
        .collect()
}

/// Every term's sequence in turn; keyword arguments are the defaults of each term.
pub fn sequence(terms: &[Value], kw: &Kwargs) -> Result<Vec<Value>, Error> {
    let mut defaults = Opts::default();
    for f in FIELDS {
        if let Some(v) = kw.get::<Option<Value>>(f)? {
            defaults.set(f, v.as_str().map_or_else(|| v.to_string(), str::to_string));
        }
    }
    let mut terms: Vec<String> = terms
        .iter()
        .map(|t| t.as_str().map_or_else(|| t.to_string(), str::to_string))
        .collect();
    if terms.is_empty() && FIELDS.iter().any(|f| kw.has(f)) {
        terms.push(String::new());
    }
    let max = crate::limits::SEQUENCE.get();
    let mut out = vec![];
    for term in terms {
        let mut o = defaults.clone();
        match shortcut(&term) {
            Some(s) => {
                for (k, v) in [
                    ("start", s.start),
                    ("end", s.end),
                    ("stride", s.stride),
                    ("format", s.format),
                ] {
                    if let Some(v) = v {
                        o.set(k, v);
                    }
                }
            }
            None => key_values(&term, &mut o)?,
        }
        out.extend(generate(&term, &o, max.saturating_sub(out.len()))?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use minijinja::Environment;

    fn q(expr: &str) -> Result<String, String> {
        let mut env = Environment::new();
        super::super::lookups::register(&mut env);
        env.render_str(&format!("{{{{ {expr} }}}}"), ())
            .map_err(|e| format!("{e:#}"))
    }

    #[test]
    fn forms_and_formats() {
        assert_eq!(
            q("query('sequence', 'start=0 end=3')").unwrap(),
            "['0', '1', '2', '3']"
        );
        assert_eq!(
            q("query('sequence', 'start=3 end=0 stride=-1')").unwrap(),
            "['3', '2', '1', '0']"
        );
        assert_eq!(q("query('sequence', '2-6/2')").unwrap(), "['2', '4', '6']");
        assert_eq!(
            q("query('sequence', '7-8:host%02d')").unwrap(),
            "['host07', 'host08']"
        );
        assert_eq!(q("query('sequence', 'count=0')").unwrap(), "[]");
        assert_eq!(
            q("query('sequence', count=5, start=10)").unwrap(),
            "['10', '11', '12', '13', '14']"
        );
        assert_eq!(
            q("query('sequence', 'count=5 start=0', stride=-1)").unwrap(),
            "['0', '-1', '-2', '-3', '-4', '-5', '-6']"
        );
        assert_eq!(
            q("query('sequence', 'count=5 start=0', 'count=5', start=20)").unwrap(),
            "['0', '1', '2', '3', '4', '20', '21', '22', '23', '24']"
        );
        assert_eq!(
            q("query('sequence', 'start=0 count=3 format=0x%02x')").unwrap(),
            "['0x00', '0x01', '0x02']"
        );
        assert_eq!(q("query('sequence')").unwrap(), "[]");
    }

    #[test]
    fn errors_say_what_is_wrong() {
        for (expr, want) in [
            (
                "'start=0 junk=3'",
                "unrecognized arguments to with_sequence: ['junk']",
            ),
            ("'start=A end=3'", "has an invalid value"),
            ("'1-B/2'", "has an invalid value"),
            ("'start=1'", "must specify count or end"),
            (
                "'start=1 end=4 count=2'",
                "can't specify both count and end",
            ),
            (
                "'start=4 end=1 stride=2'",
                "to count backwards make stride negative",
            ),
            (
                "'start=1 end=4 stride=-2'",
                "to count forward don't make stride negative",
            ),
            ("'start=1 end=4 format=d'", "bad formatting string: d"),
        ] {
            let e = q(&format!("query('sequence', {expr})")).unwrap_err();
            assert!(e.contains(want), "{expr}: {e}");
        }
    }
}
