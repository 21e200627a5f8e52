//! Host ranges: `web[01:20]`, `db-[a:c]`, `n[0:10:2]`.

/// A range may stand for at most `limits::RANGE_HOSTS` hosts: `h[0:99999999]` is a typo
/// that would otherwise fill the memory.
fn too_many(name: &str, n: u64) -> Result<(), String> {
    let max = crate::limits::RANGE_HOSTS.get();
    if n > max as u64 {
        return Err(format!(
            "host range '{name}' stands for {n} hosts, more than {max}; {}",
            crate::limits::RANGE_HOSTS.explain()
        ));
    }
    Ok(())
}

pub fn expand(name: &str) -> Result<Vec<String>, String> {
    let Some(open) = name.find('[') else {
        return Ok(vec![name.to_string()]);
    };
    let close = name[open..]
        .find(']')
        .map(|c| c + open)
        .ok_or_else(|| format!("unclosed '[' in host range '{name}'"))?;
    let (head, spec, tail) = (&name[..open], &name[open + 1..close], &name[close + 1..]);
    let parts: Vec<&str> = spec.split(':').collect();
    if parts.len() < 2 || parts.len() > 3 {
        return Err(format!(
            "bad host range '[{spec}]' in '{name}': use [start:end] or [start:end:step]"
        ));
    }
    let step: usize = match parts.get(2) {
        Some(s) => s
            .parse()
            .map_err(|_| format!("bad step in host range '{name}'"))?,
        None => 1,
    };
    let (a, b) = (parts[0], parts[1]);
    let items: Vec<String> = if let (Ok(x), Ok(y)) = (a.parse::<u64>(), b.parse::<u64>()) {
        if x > y {
            return Err(format!("host range '{name}' ends before it starts"));
        }
        too_many(name, (y - x) / step.max(1) as u64 + 1)?;
        let width = if a.len() > 1 && a.starts_with('0') {
            a.len()
        } else {
            0
        };
        (x..=y)
            .step_by(step.max(1))
            .map(|i| format!("{i:0width$}"))
            .collect()
    } else if a.len() == 1
        && b.len() == 1
        && a.chars().all(|c| c.is_ascii_alphabetic())
        && b.chars().all(|c| c.is_ascii_alphabetic())
    {
        let (x, y) = (a.as_bytes()[0], b.as_bytes()[0]);
        if x > y {
            return Err(format!("host range '{name}' ends before it starts"));
        }
        (x..=y)
            .step_by(step.max(1))
            .map(|c| (c as char).to_string())
            .collect()
    } else {
        return Err(format!("bad host range '[{spec}]' in '{name}'"));
    };
    let tails = expand(tail)?;
    too_many(name, items.len() as u64 * tails.len() as u64)?;
    let mut out = Vec::new();
    for i in items {
        for rest in &tails {
            out.push(format!("{head}{i}{rest}"));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::expand;
    #[test]
    fn ranges() {
        assert_eq!(expand("web[01:03]").unwrap(), ["web01", "web02", "web03"]);
        assert_eq!(expand("db-[a:c]").unwrap(), ["db-a", "db-b", "db-c"]);
        assert_eq!(expand("n[0:4:2].x").unwrap(), ["n0.x", "n2.x", "n4.x"]);
        assert!(expand("w[3:1]").is_err());
        let e = expand("h[0:99999999]").unwrap_err();
        assert!(e.contains("stands for 100000000 hosts"), "{e}");
        let e = expand("h[0:999][0:999]").unwrap_err();
        assert!(e.contains("stands for 1000000 hosts"), "{e}");
    }
}
