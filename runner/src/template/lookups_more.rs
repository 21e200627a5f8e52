//! Lookups over what the template can see: `dict`, `varnames`, `inventory_hostnames`
//! (through the `groups` variable and the inventory's pattern syntax) and `fileglob`.

use std::path::Path;

use minijinja::value::ValueKind;
use minijinja::{Error, ErrorKind, State, Value};

fn err(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

fn text(v: &Value) -> String {
    v.as_str()
        .map(str::to_string)
        .unwrap_or_else(|| v.to_string())
}

/// `lookup('dict', mapping)`: one `{key, value}` per entry, in order.
pub fn dict_items(term: &Value) -> Result<Vec<Value>, Error> {
    if term.kind() != ValueKind::Map {
        return Err(err(format!(
            "lookup('dict'): with_dict expects a dict, got {}",
            term.kind()
        )));
    }
    let mut out = vec![];
    for k in term.try_iter()? {
        let v = term.get_item(&k)?;
        out.push(Value::from_pairs([("key", k), ("value", v)]));
    }
    Ok(out)
}

/// `lookup('varnames', 'regex', ...)`: the names of variables a pattern finds (Python's
/// `re.search`), for each pattern in turn.
pub fn varnames(state: &State, terms: &[Value]) -> Result<Vec<Value>, Error> {
    let vars = state.lookup("vars").unwrap_or_default();
    let names: Vec<String> = match vars.try_iter() {
        Ok(i) => i.map(|n| text(&n)).collect(),
        Err(_) => vec![],
    };
    let mut out = vec![];
    for t in terms {
        let pat = t.as_str().ok_or_else(|| {
            err(format!(
                "lookup('varnames'): Invalid setting identifier, \"{t}\" is not a string"
            ))
        })?;
        let re = timonel_modules::pyre::Regex::new(pat).map_err(|e| {
            err(format!(
                "lookup('varnames'): Unable to use \"{pat}\" as a search parameter: {e}"
            ))
        })?;
        out.extend(
            names
                .iter()
                .filter(|n| re.is_match(n))
                .map(|n| Value::from(n.as_str())),
        );
    }
    Ok(out)
}

/// `lookup('inventory_hostnames', 'pattern')`: the hosts a pattern selects, as the play's
/// `hosts:` would, from the inventory the `groups` variable shows.
pub fn inventory_hostnames(state: &State, terms: &[Value]) -> Result<Vec<Value>, Error> {
    let groups = state.lookup("groups").unwrap_or_default();
    let mut inv = crate::inventory::Inventory::new();
    let members = |g: &Value| -> Vec<String> {
        g.try_iter()
            .map(|i| i.map(|h| text(&h)).collect())
            .unwrap_or_default()
    };
    if let Ok(all) = groups.get_attr("all") {
        for h in members(&all) {
            inv.hosts.entry(h).or_default();
        }
    }
    if let Ok(names) = groups.try_iter() {
        for g in names {
            let name = text(&g);
            let hosts = members(&groups.get_item(&g).unwrap_or_default());
            for h in &hosts {
                inv.hosts
                    .entry(h.clone())
                    .or_default()
                    .member_of
                    .push(name.clone());
            }
            let group = inv.groups.entry(name).or_default();
            group.hosts = hosts;
        }
    }
    let mut out = vec![];
    for t in terms {
        let hosts = inv
            .select(&text(t))
            .map_err(|e| err(format!("lookup('inventory_hostnames'): {e}")))?;
        out.extend(hosts.into_iter().map(Value::from));
    }
    Ok(out)
}

/// `lookup('fileglob', 'dir/*.txt')`: the files (not directories) matching, sorted.
pub fn fileglob(dir: &Path, pattern: &str) -> Result<Vec<Value>, Error> {
    let pat = glob::Pattern::new(pattern).map_err(|e| {
        err(format!(
            "lookup('fileglob'): invalid pattern '{pattern}': {e}"
        ))
    })?;
    let mut found: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter(|e| e.path().is_file())
                .filter(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    // Like Python's glob, a leading dot is matched only by a leading dot.
                    pat.matches(&name) && (!name.starts_with('.') || pattern.starts_with('.'))
                })
                .map(|e| e.path().display().to_string())
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    Ok(found.into_iter().map(Value::from).collect())
}

/// `together` (Python's zip_longest, None for the missing) or `nested` (the product).
pub fn combine_lists(lists: &[Vec<Value>], nested: bool) -> Vec<Value> {
    if nested {
        let mut acc: Vec<Vec<Value>> = vec![vec![]];
        for l in lists {
            acc = acc
                .iter()
                .flat_map(|a| {
                    l.iter().map(move |x| {
                        let mut n = a.clone();
                        n.push(x.clone());
                        n
                    })
                })
                .collect();
        }
        if lists.is_empty() {
            return vec![];
        }
        return acc.into_iter().map(Value::from).collect();
    }
    let n = lists.iter().map(Vec::len).max().unwrap_or(0);
    (0..n)
        .map(|i| {
            Value::from(
                lists
                    .iter()
                    .map(|l| l.get(i).cloned().unwrap_or(Value::from(())))
                    .collect::<Vec<_>>(),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use minijinja::Environment;

    fn env() -> Environment<'static> {
        let mut env = Environment::new();
        super::super::lookups::register(&mut env);
        env
    }

    #[test]
    fn dict_lookup_gives_key_value_items() {
        let out = env()
            .render_str("{{ lookup('dict', {'a': 1, 'b': 2}, wantlist=True) }}", ())
            .unwrap();
        assert!(out.contains("{'key': 'a', 'value': 1}"), "{out}");
        assert!(out.contains("{'key': 'b', 'value': 2}"), "{out}");
    }

    #[test]
    fn varnames_matches_names() {
        let ctx = minijinja::context! {
            vars => minijinja::context! { qz_1 => 1, qz_2 => 2, qa_1 => 3 }
        };
        let out = env()
            .render_str("{{ query('varnames', '^qz_.+$') | sort }}", ctx)
            .unwrap();
        assert_eq!(out, "['qz_1', 'qz_2']");
    }

    #[test]
    fn inventory_hostnames_uses_patterns() {
        let ctx = minijinja::context! {
            groups => minijinja::context! {
                all => vec!["a", "b", "c"], web => vec!["a", "b"], db => vec!["c"], ungrouped => Vec::<String>::new()
            }
        };
        let r = |q: &str| env().render_str(q, ctx.clone()).unwrap();
        assert_eq!(
            r("{{ query('inventory_hostnames', 'all:!db') }}"),
            "['a', 'b']"
        );
        assert_eq!(r("{{ lookup('inventory_hostnames', 'web') }}"), "a,b");
        assert_eq!(
            r("{{ query('inventory_hostnames', 'db:web') | sort }}"),
            "['a', 'b', 'c']"
        );
    }

    #[test]
    fn list_lookups() {
        let r = |q: &str| env().render_str(q, ()).unwrap();
        assert_eq!(
            r("{{ query('indexed_items', ['a', 'b']) }}"),
            "[[0, 'a'], [1, 'b']]"
        );
        assert_eq!(
            r("{{ query('together', [1, 2], ['a']) }}"),
            "[[1, 'a'], [2, None]]"
        );
        assert_eq!(
            r("{{ query('nested', [1, 2], ['a', 'b']) }}"),
            "[[1, 'a'], [1, 'b'], [2, 'a'], [2, 'b']]"
        );
        assert!(["1", "2"].contains(&r("{{ lookup('random_choice', 1, 2) }}").as_str()));
    }

    #[test]
    fn fileglob_finds_files_only() {
        let d = tempfile::tempdir().unwrap();
        for f in ["a.txt", "b.txt", "c.log", ".h.txt"] {
            std::fs::write(d.path().join(f), "x").unwrap();
        }
        std::fs::create_dir(d.path().join("dir.txt")).unwrap();
        let found: Vec<String> = fileglob(d.path(), "*.txt")
            .unwrap()
            .iter()
            .map(text)
            .collect();
        let names: Vec<&str> = found
            .iter()
            .map(|p| p.rsplit('/').next().unwrap())
            .collect();
        assert_eq!(names, ["a.txt", "b.txt"]);
    }
}
