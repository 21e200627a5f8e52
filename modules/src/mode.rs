//! File modes as Ansible accepts them: octal numbers (YAML 1.1 `0644` arrives as 420),
//! octal strings ("0644", "644") and symbolic modes ("u=rw,g=r,o=r", "a+x").

/// Normalises a `mode` argument for `chmod`; `None` when it is not a valid mode.
pub fn normalize(v: &serde_json::Value) -> Result<String, String> {
    match v {
        serde_json::Value::Number(n) => {
            let n = n.as_u64().ok_or_else(|| format!("invalid mode {n}"))?;
            if n > 0o7777 {
                return Err(format!("invalid mode {n}: larger than 07777"));
            }
            Ok(format!("{n:04o}"))
        }
        serde_json::Value::String(s) => {
            let s = s.trim();
            // copy and template: the source's mode (other modules leave the mode alone).
            if s == "preserve" {
                return Ok(s.to_string());
            }
            if !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()) {
                let n = u32::from_str_radix(s, 8)
                    .map_err(|_| format!("invalid mode '{s}': not an octal number"))?;
                if n > 0o7777 {
                    return Err(format!("invalid mode '{s}'"));
                }
                Ok(format!("{n:04o}"))
            } else if resolve(s, 0, false).is_some() {
                Ok(s.to_string())
            } else {
                Err(format!("invalid mode '{s}': use an octal number like '0644' or a symbolic mode like 'u=rw,g=r,o=r'"))
            }
        }
        other => Err(format!("invalid mode {other}")),
    }
}

/// The permission bits `mode` gives a path whose current bits are `current`.
pub fn resolve(mode: &str, current: u32, is_dir: bool) -> Option<u32> {
    if !mode.is_empty() && mode.chars().all(|c| c.is_ascii_digit()) {
        return u32::from_str_radix(mode, 8).ok();
    }
    let mut bits = current & 0o7777;
    for clause in mode.split(',') {
        let op_pos = clause.find(['+', '-', '='])?;
        let (who, rest) = clause.split_at(op_pos);
        let mut mask = 0u32;
        for c in who.chars() {
            mask |= match c {
                'u' => 0o4700,
                'g' => 0o2070,
                'o' => 0o1007,
                'a' => 0o7777,
                _ => return None,
            };
        }
        if who.is_empty() {
            mask = 0o7777;
        }
        let op = rest.chars().next()?;
        let mut perm = 0u32;
        for c in rest[1..].chars() {
            perm |= match c {
                'r' => 0o444,
                'w' => 0o222,
                'x' => 0o111,
                'X' if is_dir || current & 0o111 != 0 => 0o111,
                'X' => 0,
                's' => 0o6000,
                't' => 0o1000,
                _ => return None,
            };
        }
        let perm = perm & mask;
        bits = match op {
            '+' => bits | perm,
            '-' => bits & !perm,
            _ => (bits & !(mask & 0o777 | mask & 0o7000)) | perm,
        };
    }
    Some(bits)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn yaml11_octal_and_strings() {
        assert_eq!(normalize(&json!(420)).unwrap(), "0644");
        assert_eq!(normalize(&json!("0755")).unwrap(), "0755");
        assert_eq!(normalize(&json!("600")).unwrap(), "0600");
        assert!(normalize(&json!("0999")).is_err());
        assert!(normalize(&json!("rwx")).is_err());
    }

    #[test]
    fn symbolic() {
        assert_eq!(resolve("u=rw,g=r,o=r", 0o777, false), Some(0o644));
        assert_eq!(resolve("a+x", 0o644, false), Some(0o755));
        assert_eq!(resolve("go-w", 0o666, false), Some(0o644));
    }
}
