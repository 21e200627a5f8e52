//! Host patterns: `a:b`, `a,b`, `a:!b`, `a:&b`, wildcards, `~regex`, `group[0]`, `group[1:3]`.

use super::Inventory;

#[derive(Debug, thiserror::Error)]
pub enum PatternError {
    #[error("invalid regular expression in host pattern '{0}': {1}")]
    Regex(String, String),
    #[error("invalid subscript in host pattern '{0}'")]
    Subscript(String),
}

fn split_terms(pattern: &str) -> Vec<String> {
    if pattern.contains(',') {
        return pattern
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
    }
    // ':' separates terms, except inside a regex term or an [a:b] subscript.
    let mut terms = Vec::new();
    let mut cur = String::new();
    let mut depth = 0;
    for c in pattern.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            ':' if depth == 0
                && !cur.starts_with('~')
                && !cur.starts_with("!~")
                && !cur.starts_with("&~") =>
            {
                terms.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    terms.push(cur);
    terms
        .into_iter()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect()
}

fn glob_match(pat: &str, s: &str) -> bool {
    let re = format!(
        "^{}$",
        regex::escape(pat).replace(r"\*", ".*").replace(r"\?", ".")
    );
    regex::Regex::new(&re).is_ok_and(|r| r.is_match(s))
}

fn term_hosts(inv: &Inventory, term: &str) -> Result<Vec<String>, PatternError> {
    let (base, sub) = match term.find('[') {
        Some(i) if term.ends_with(']') && !term.starts_with('~') => {
            (&term[..i], Some(&term[i + 1..term.len() - 1]))
        }
        _ => (term, None),
    };
    let mut hosts = if base == "all" || base == "*" {
        inv.hosts.keys().cloned().collect()
    } else if let Some(re) = base.strip_prefix('~') {
        let r =
            regex::Regex::new(re).map_err(|e| PatternError::Regex(term.into(), e.to_string()))?;
        let mut out: Vec<String> = inv
            .hosts
            .keys()
            .filter(|h| r.is_match(h))
            .cloned()
            .collect();
        for g in inv.groups.keys().filter(|g| r.is_match(g)) {
            out.extend(inv.group_hosts(g));
        }
        out
    } else if base.contains('*') || base.contains('?') {
        let mut out: Vec<String> = inv
            .hosts
            .keys()
            .filter(|h| glob_match(base, h))
            .cloned()
            .collect();
        for g in inv.groups.keys().filter(|g| glob_match(base, g)) {
            out.extend(inv.group_hosts(g));
        }
        out
    } else if inv.groups.contains_key(base) {
        inv.group_hosts(base)
    } else if inv.hosts.contains_key(base) || base == "localhost" || base == "127.0.0.1" {
        vec![base.to_string()]
    } else {
        vec![]
    };
    if let Some(sub) = sub {
        let idx = |s: &str| -> Result<i64, PatternError> {
            s.trim()
                .parse::<i64>()
                .map_err(|_| PatternError::Subscript(term.into()))
        };
        let n = hosts.len() as i64;
        let norm = |i: i64| if i < 0 { n + i } else { i };
        hosts = match sub.split_once(':') {
            Some((a, b)) => {
                let a = if a.is_empty() { 0 } else { norm(idx(a)?) };
                let b = if b.is_empty() { n - 1 } else { norm(idx(b)?) };
                hosts
                    .into_iter()
                    .enumerate()
                    .filter(|(i, _)| (*i as i64) >= a && (*i as i64) <= b)
                    .map(|(_, h)| h)
                    .collect()
            }
            None => {
                let i = norm(idx(sub)?);
                hosts
                    .into_iter()
                    .nth(i.max(0) as usize)
                    .into_iter()
                    .collect()
            }
        };
    }
    Ok(hosts)
}

/// Hosts matching a pattern, in inventory order. `localhost` matches even when it is not in
/// the inventory (the implicit localhost, as in Ansible).
pub fn select(inv: &Inventory, pattern: &str) -> Result<Vec<String>, PatternError> {
    use std::collections::HashSet;
    let mut union: indexmap::IndexSet<String> = indexmap::IndexSet::new();
    let mut inter: Vec<HashSet<String>> = Vec::new();
    let mut excl: HashSet<String> = HashSet::new();
    for t in split_terms(pattern) {
        if let Some(x) = t.strip_prefix('!') {
            excl.extend(term_hosts(inv, x)?);
        } else if let Some(x) = t.strip_prefix('&') {
            inter.push(term_hosts(inv, x)?.into_iter().collect());
        } else {
            union.extend(term_hosts(inv, &t)?);
        }
    }
    let mut out: Vec<String> = union
        .into_iter()
        .filter(|h| inter.iter().all(|s| s.contains(h)) && !excl.contains(h))
        .collect();
    out.sort_by_key(|h| inv.hosts.get_index_of(h).unwrap_or(usize::MAX));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inv() -> Inventory {
        let mut i = Inventory::new();
        for h in ["w1", "w2", "w3"] {
            i.add_host(h, "web");
        }
        i.add_host("d1", "db");
        i.add_host("w1", "db");
        i.finish();
        i
    }

    #[test]
    fn patterns() {
        let i = inv();
        assert_eq!(select(&i, "web:db").unwrap(), ["w1", "w2", "w3", "d1"]);
        assert_eq!(select(&i, "web:!db").unwrap(), ["w2", "w3"]);
        assert_eq!(select(&i, "web:&db").unwrap(), ["w1"]);
        assert_eq!(select(&i, "w*").unwrap(), ["w1", "w2", "w3"]);
        assert_eq!(select(&i, "~w[12]").unwrap(), ["w1", "w2"]);
        assert_eq!(select(&i, "web[0]").unwrap(), ["w1"]);
        assert_eq!(select(&i, "web[1:2]").unwrap(), ["w2", "w3"]);
        assert_eq!(select(&i, "d1,w3").unwrap(), ["w3", "d1"]);
        assert!(select(&i, "nothing").unwrap().is_empty());
    }
}
