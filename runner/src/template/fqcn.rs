//! Filters and tests under their fully qualified names too: `x | ansible.builtin.basename`
//! and `x is ansible.builtin.version('1.2', '>=')` are the same as the short names, as in
//! Ansible.

use minijinja::value::{FunctionArgs, FunctionResult, Rest, ValueOrKwargs};
use minijinja::{functions::Function, Environment, State, Value};

/// The prefixes Ansible accepts for its own plugins.
pub const PREFIXES: &[&str] = &["ansible.builtin.", "ansible.legacy."];

/// The name without an Ansible prefix: `ansible.builtin.env` is `env`.
pub fn short(name: &str) -> &str {
    PREFIXES
        .iter()
        .find_map(|p| name.strip_prefix(p))
        .unwrap_or(name)
}

/// The arguments as they came, keyword arguments included, to pass on.
fn values(a: Rest<ValueOrKwargs>) -> Vec<Value> {
    a.0.into_iter().map(ValueOrKwargs::into_value).collect()
}

/// The collections that have held ansible.utils' IP filters and tests.
pub const UTILS_PREFIXES: &[&str] = &["ansible.utils.", "ansible.netcommon."];

/// Registers a filter under its short name and each prefixed one.
pub fn filter<F, Rv, Args>(env: &mut Environment<'static>, name: &'static str, f: F)
where
    F: Function<Rv, Args> + Send + Sync + Clone + 'static,
    Rv: FunctionResult,
    Args: for<'a> FunctionArgs<'a>,
{
    filter_in(env, PREFIXES, name, f)
}

/// An ansible.utils filter: `ansible.utils.ipaddr` and the short `ipaddr`.
pub fn utils_filter<F, Rv, Args>(env: &mut Environment<'static>, name: &'static str, f: F)
where
    F: Function<Rv, Args> + Send + Sync + Clone + 'static,
    Rv: FunctionResult,
    Args: for<'a> FunctionArgs<'a>,
{
    filter_in(env, UTILS_PREFIXES, name, f)
}

/// An ansible.utils test: `ansible.utils.ipv4_address` and the short name.
pub fn utils_test<F, Rv, Args>(env: &mut Environment<'static>, name: &'static str, f: F)
where
    F: Function<Rv, Args> + Send + Sync + 'static,
    Rv: FunctionResult,
    Args: for<'a> FunctionArgs<'a>,
{
    test_in(env, UTILS_PREFIXES, name, f)
}

fn filter_in<F, Rv, Args>(
    env: &mut Environment<'static>,
    prefixes: &[&str],
    name: &'static str,
    f: F,
) where
    F: Function<Rv, Args> + Send + Sync + Clone + 'static,
    Rv: FunctionResult,
    Args: for<'a> FunctionArgs<'a>,
{
    let v = Value::from_function(f.clone());
    for p in prefixes {
        let v = v.clone();
        env.add_filter(
            format!("{p}{name}"),
            move |s: &mut State, a: Rest<ValueOrKwargs>| v.call(s, &values(a)),
        );
    }
    // The short name, which templates use most, calls the function directly.
    env.add_filter(name, f);
}

/// Registers a test under its short name and each prefixed one.
pub fn test<F, Rv, Args>(env: &mut Environment<'static>, name: &'static str, f: F)
where
    F: Function<Rv, Args> + Send + Sync + 'static,
    Rv: FunctionResult,
    Args: for<'a> FunctionArgs<'a>,
{
    test_in(env, PREFIXES, name, f)
}

fn test_in<F, Rv, Args>(env: &mut Environment<'static>, prefixes: &[&str], name: &'static str, f: F)
where
    F: Function<Rv, Args> + Send + Sync + 'static,
    Rv: FunctionResult,
    Args: for<'a> FunctionArgs<'a>,
{
    let v = Value::from_function(f);
    for p in prefixes {
        let v = v.clone();
        env.add_test(
            format!("{p}{name}"),
            move |s: &mut State, a: Rest<ValueOrKwargs>| v.call(s, &values(a)).map(|r| r.is_true()),
        );
    }
    env.add_test(name, move |s: &mut State, a: Rest<ValueOrKwargs>| {
        v.call(s, &values(a)).map(|r| r.is_true())
    });
}

/// Jinja's own filters and tests, which Ansible also knows as `ansible.builtin.<name>`.
const JINJA_FILTERS: &[&str] = &[
    "safe",
    "escape",
    "e",
    "lower",
    "upper",
    "title",
    "capitalize",
    "replace",
    "length",
    "count",
    "dictsort",
    "items",
    "reverse",
    "trim",
    "join",
    "split",
    "lines",
    "default",
    "d",
    "round",
    "abs",
    "attr",
    "first",
    "last",
    "min",
    "max",
    "sort",
    "list",
    "batch",
    "slice",
    "sum",
    "indent",
    "select",
    "reject",
    "selectattr",
    "rejectattr",
    "map",
    "groupby",
    "unique",
    "pprint",
    "format",
    "tojson",
    "urlencode",
];
const JINJA_TESTS: &[&str] = &[
    "defined",
    "undefined",
    "none",
    "safe",
    "escaped",
    "odd",
    "even",
    "divisibleby",
    "number",
    "string",
    "sequence",
    "iterable",
    "mapping",
    "startingwith",
    "endingwith",
    "lower",
    "upper",
    "sameas",
    "eq",
    "equalto",
    "ne",
    "lt",
    "lessthan",
    "le",
    "gt",
    "greaterthan",
    "ge",
    "in",
    "true",
    "false",
    "filter",
    "test",
    "callable",
];

/// `ansible.builtin.<name>` for Jinja's filters and tests: forwarded to the short name, so
/// they stay whatever the environment has under it.
pub fn jinja_aliases(env: &mut Environment<'static>) {
    for name in JINJA_FILTERS {
        for p in PREFIXES {
            env.add_filter(
                format!("{p}{name}"),
                move |s: &mut State, a: Rest<ValueOrKwargs>| s.apply_filter(name, &values(a)),
            );
        }
    }
    for name in JINJA_TESTS {
        for p in PREFIXES {
            env.add_test(
                format!("{p}{name}"),
                move |s: &mut State, a: Rest<ValueOrKwargs>| s.perform_test(name, &values(a)),
            );
        }
    }
}
