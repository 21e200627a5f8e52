//! YAML 1.1 resolution of plain scalars, with PyYAML's rules (what Ansible uses).

use super::Yaml;

pub fn plain(s: &str) -> Yaml {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Yaml::Null,
        "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return Yaml::Bool(true)
        }
        "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Yaml::Bool(false)
        }
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Yaml::Float(f64::INFINITY)
        }
        "-.inf" | "-.Inf" | "-.INF" => return Yaml::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Yaml::Float(f64::NAN),
        _ => {}
    }
    if let Some(i) = int(s) {
        return Yaml::Int(i);
    }
    if let Some(f) = float(s) {
        return Yaml::Float(f);
    }
    Yaml::Str(s.to_string())
}

fn int(s: &str) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if body.is_empty() || body.starts_with('_') {
        return None;
    }
    let clean: String = body.chars().filter(|c| *c != '_').collect();
    let v = if let Some(b) = clean.strip_prefix("0b") {
        i64::from_str_radix(b, 2).ok()?
    } else if let Some(h) = clean.strip_prefix("0x") {
        i64::from_str_radix(h, 16).ok()?
    } else if clean.len() > 1 && clean.starts_with('0') {
        if !clean.chars().all(|c| ('0'..='7').contains(&c)) {
            return None;
        }
        i64::from_str_radix(&clean, 8).ok()?
    } else if clean.contains(':') {
        // Sexagesimal (190:20:30), a YAML 1.1 oddity PyYAML keeps.
        let mut v: i64 = 0;
        for (i, part) in clean.split(':').enumerate() {
            if part.is_empty()
                || !part.chars().all(|c| c.is_ascii_digit())
                || (i > 0 && part.parse::<i64>().ok()? > 59)
            {
                return None;
            }
            v = v * 60 + part.parse::<i64>().ok()?;
        }
        if clean.starts_with('0') {
            return None;
        }
        v
    } else {
        if !clean.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        clean.parse::<i64>().ok()?
    };
    Some(if neg { -v } else { v })
}

fn float(s: &str) -> Option<f64> {
    let body = s.trim_start_matches(['-', '+']);
    if body.len() + 1 < s.len() {
        return None;
    }
    // PyYAML needs a dot: "1e3" stays a string, "1.0e+3" is a float.
    if !body.contains('.') {
        return None;
    }
    let clean: String = s.chars().filter(|c| *c != '_').collect();
    let (mant, exp) = match clean.find(['e', 'E']) {
        Some(i) => (&clean[..i], Some(&clean[i + 1..])),
        None => (&clean[..], None),
    };
    let m = mant.trim_start_matches(['-', '+']);
    let (a, b) = m.split_once('.')?;
    if !a.chars().all(|c| c.is_ascii_digit())
        || !b.chars().all(|c| c.is_ascii_digit())
        || (a.is_empty() && b.is_empty())
    {
        return None;
    }
    if let Some(e) = exp {
        let digits = e.strip_prefix(['-', '+'])?;
        if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
    }
    clean.parse::<f64>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_int(s: &str, v: i64) -> bool {
        matches!(plain(s), Yaml::Int(i) if i == v)
    }

    #[test]
    fn yaml11() {
        assert!(matches!(plain("yes"), Yaml::Bool(true)));
        assert!(matches!(plain("Off"), Yaml::Bool(false)));
        assert!(matches!(plain("y"), Yaml::Str(_)));
        assert!(is_int("0644", 420));
        assert!(is_int("0x1F", 31));
        assert!(is_int("1_000", 1000));
        assert!(is_int("-12", -12));
        assert!(matches!(plain("09"), Yaml::Str(_)));
        assert!(matches!(plain("1e3"), Yaml::Str(_)));
        assert!(matches!(plain("1.5"), Yaml::Float(f) if f == 1.5));
        assert!(matches!(plain("1.0e+3"), Yaml::Float(f) if f == 1000.0));
        assert!(matches!(plain("~"), Yaml::Null));
        assert!(matches!(plain("1.2.3"), Yaml::Str(_)));
        assert!(matches!(plain("127.0.0.1"), Yaml::Str(_)));
    }
}
