//! `json_query` (JMESPath, community.general's filter), `now()` and `strftime`, as Ansible
//! has them.

use std::sync::Arc;

use minijinja::value::{Kwargs, Object, Value};
use minijinja::{Environment, Error, ErrorKind, State};

fn err(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

/// `data | json_query('expr')`.
fn json_query(v: Value, expr: String) -> Result<Value, Error> {
    let data = super::to_json(&v)?;
    let compiled = jmespath::compile(&expr)
        .map_err(|e| err(format!("json_query: invalid query '{expr}': {e}")))?;
    let out = compiled
        .search(data)
        .map_err(|e| err(format!("json_query: '{expr}': {e}")))?;
    let j = serde_json::to_value(&*out).map_err(|e| err(format!("json_query: {e}")))?;
    Ok(super::from_json(&j))
}

/// Python's `strftime` directives in jiff's dialect: `%f` is six digits of microseconds.
fn strftime_with(fmt: &str, z: &jiff::Zoned) -> Result<String, Error> {
    let fmt = fmt.replace("%f", "%6f");
    jiff::fmt::strtime::format(&fmt, z).map_err(|e| err(format!("strftime '{fmt}': {e}")))
}

/// What `now()` returns: a Python datetime's attributes, `strftime`, `isoformat`, and its
/// `str()` when printed.
#[derive(Debug)]
struct DateTime(jiff::Zoned);

impl Object for DateTime {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let z = &self.0;
        Some(Value::from(match key.as_str()? {
            "year" => z.year() as i64,
            "month" => z.month() as i64,
            "day" => z.day() as i64,
            "hour" => z.hour() as i64,
            "minute" => z.minute() as i64,
            "second" => z.second() as i64,
            "microsecond" => (z.subsec_nanosecond() / 1000) as i64,
            _ => return None,
        }))
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        name: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match name {
            "strftime" => {
                let fmt = args
                    .first()
                    .and_then(|f| f.as_str())
                    .ok_or_else(|| err("strftime() needs a format"))?;
                strftime_with(fmt, &self.0).map(Value::from)
            }
            "isoformat" => strftime_with("%Y-%m-%dT%H:%M:%S.%f", &self.0).map(Value::from),
            "timestamp" => Ok(Value::from(
                self.0.timestamp().as_microsecond() as f64 / 1_000_000.0,
            )),
            "weekday" => Ok(Value::from(self.0.weekday().to_monday_zero_offset() as i64)),
            "isoweekday" => Ok(Value::from(self.0.weekday().to_monday_one_offset() as i64)),
            _ => Err(Error::new(
                ErrorKind::UnknownMethod,
                format!("datetime has no method '{name}'"),
            )),
        }
    }

    fn render(self: &Arc<Self>, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let fmt = if self.0.subsec_nanosecond() / 1000 == 0 {
            "%Y-%m-%d %H:%M:%S"
        } else {
            "%Y-%m-%d %H:%M:%S.%f"
        };
        match strftime_with(fmt, &self.0) {
            Ok(s) => f.write_str(&s),
            Err(_) => Err(std::fmt::Error),
        }
    }
}

fn current(utc: bool) -> jiff::Zoned {
    if utc {
        jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC)
    } else {
        jiff::Zoned::now()
    }
}

/// Ansible's `now(utc=False, fmt=None)`.
fn now(kw: Kwargs) -> Result<Value, Error> {
    let utc = kw.get::<Option<bool>>("utc")?.unwrap_or(false);
    let fmt = kw.get::<Option<String>>("fmt")?;
    kw.assert_all_used()?;
    let z = current(utc);
    match fmt {
        Some(f) => strftime_with(&f, &z).map(Value::from),
        None => Ok(Value::from_object(DateTime(z))),
    }
}

/// Ansible's `'%Y-%m-%d' | strftime(second=None, utc=False)`.
fn strftime(fmt: String, second: Option<Value>, kw: Kwargs) -> Result<Value, Error> {
    let second = match second {
        Some(s) => Some(s),
        None => kw.get::<Option<Value>>("second")?,
    };
    let utc = kw.get::<Option<bool>>("utc")?.unwrap_or(false);
    kw.assert_all_used()?;
    let z = match second.filter(|s| !s.is_none()) {
        None => current(utc),
        Some(s) => {
            let secs = f64::try_from(s.clone())
                .ok()
                .or_else(|| s.as_str().and_then(|t| t.trim().parse().ok()))
                .ok_or_else(|| err(format!("strftime: invalid value for epoch '{s}'")))?;
            let ts = jiff::Timestamp::from_microsecond((secs * 1_000_000.0) as i64)
                .map_err(|e| err(format!("strftime: {e}")))?;
            let tz = if utc {
                jiff::tz::TimeZone::UTC
            } else {
                jiff::tz::TimeZone::system()
            };
            ts.to_zoned(tz)
        }
    };
    strftime_with(&fmt, &z).map(Value::from)
}

/// Ansible's `unique`: Jinja2's (case-insensitive unless `case_sensitive=True`), which
/// needs hashable items; for lists and mappings among them Ansible falls back to its own
/// (equality, case-sensitive), which refuses `case_sensitive=False` and `attribute`.
fn unique(state: &State, values: Value, kwargs: Kwargs) -> Result<Value, Error> {
    use minijinja::value::ValueKind as K;
    if !matches!(values.kind(), K::Seq | K::Map | K::String | K::Iterable) {
        return Err(err(format!(
            "unique: '{}' object is not iterable",
            python_type(&values)
        )));
    }
    let case_sensitive = kwargs.get::<Option<bool>>("case_sensitive")?;
    let attribute = kwargs.get::<Option<Value>>("attribute")?;
    let path = attribute
        .as_ref()
        .and_then(|a| a.as_str().map(str::to_string));
    let unhashable = values.try_iter()?.any(|v| {
        let compared = match &path {
            Some(p) => p
                .split('.')
                .fold(v, |x, k| x.get_attr(k).unwrap_or_default()),
            None => v,
        };
        matches!(compared.kind(), K::Seq | K::Map)
    });
    if !unhashable {
        let mut pass = vec![];
        if let Some(c) = case_sensitive {
            pass.push(("case_sensitive", Value::from(c)));
        }
        if let Some(a) = attribute {
            pass.push(("attribute", a));
        }
        return minijinja::filters::unique(state, values, Kwargs::from_iter(pass));
    }
    if case_sensitive == Some(false) || attribute.is_some() {
        return Err(err(
            "Jinja2's unique filter failed and we cannot fall back to Ansible's version as it does not support the parameters supplied.",
        ));
    }
    let mut out: Vec<Value> = vec![];
    for v in values.try_iter()? {
        if !out.contains(&v) {
            out.push(v);
        }
    }
    Ok(Value::from(out))
}

/// Python's type name for a value (Ansible's messages, the `type_debug` filter).
pub(super) fn python_type(v: &Value) -> &'static str {
    use minijinja::value::ValueKind as K;
    match v.kind() {
        K::Bool => "bool",
        K::Number if v.is_integer() => "int",
        K::Number => "float",
        K::String => "str",
        K::Seq | K::Iterable => "list",
        K::Map => "dict",
        K::None => "NoneType",
        K::Undefined => "AnsibleUndefined",
        _ => "object",
    }
}

pub fn register(env: &mut Environment<'static>) {
    env.add_filter("unique", unique);
    super::fqcn::filter(env, "type_debug", |v: Value| python_type(&v));
    for name in ["json_query", "community.general.json_query"] {
        env.add_filter(name, json_query);
    }
    super::fqcn::filter(env, "strftime", strftime);
    env.add_function("now", now);
    // ansible-core 2.19's `undef(hint)`: an undefined value (a default that must be set).
    env.add_function("undef", |_hint: Option<String>| Value::UNDEFINED);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(src: &str, ctx: Value) -> String {
        let mut env = Environment::new();
        register(&mut env);
        env.render_str(src, ctx).unwrap()
    }

    #[test]
    fn json_query_as_jmespath() {
        let ctx = super::super::from_json(&serde_json::json!({"d": {
            "domain": {"server": [
                {"name": "a", "port": 80, "cluster": "x"},
                {"name": "b", "port": 81, "cluster": "y"},
                {"name": "c", "port": 82, "cluster": "x"}
            ]}
        }}));
        assert_eq!(
            r("{{ d | json_query('domain.server[*].name') }}", ctx.clone()),
            "['a', 'b', 'c']"
        );
        assert_eq!(
            r(
                "{{ d | community.general.json_query(\"domain.server[?cluster=='x'].port\") }}",
                ctx.clone()
            ),
            "[80, 82]"
        );
        assert_eq!(
            r(
                "{{ d | json_query('domain.server[0].{n: name, p: port}') }}",
                ctx.clone()
            ),
            "{'n': 'a', 'p': 80}"
        );
        assert_eq!(r("{{ d | json_query('nothing') }}", ctx), "None");
    }

    #[test]
    fn now_is_a_datetime() {
        let year: i64 = r("{{ now().year }}", Value::UNDEFINED).parse().unwrap();
        assert!(year >= 2024);
        let s = r("{{ now(utc=True, fmt='%Y-%m-%d') }}", Value::UNDEFINED);
        assert_eq!(s.len(), 10);
        assert_eq!(
            r("{{ now().strftime('%Y') }}", Value::UNDEFINED),
            year.to_string()
        );
        let printed = r("{{ now() }}", Value::UNDEFINED);
        assert!(
            printed.starts_with(&year.to_string()) && printed.contains(':'),
            "{printed}"
        );
    }

    #[test]
    fn strftime_of_an_epoch() {
        assert_eq!(
            r(
                "{{ '%Y-%m-%d %H:%M:%S' | strftime(0, utc=True) }}",
                Value::UNDEFINED
            ),
            "1970-01-01 00:00:00"
        );
        assert_eq!(
            r(
                "{{ '%Y-%m-%d' | strftime(second=1700000000, utc=True) }}",
                Value::UNDEFINED
            ),
            "2023-11-14"
        );
    }
}
