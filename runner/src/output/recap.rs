//! PLAY RECAP counters and their exact Ansible line format.

use indexmap::IndexMap;
use serde_json::{json, Value};

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct HostStats {
    pub ok: u32,
    pub changed: u32,
    pub unreachable: u32,
    pub failed: u32,
    pub skipped: u32,
    pub rescued: u32,
    pub ignored: u32,
}

#[derive(Debug, Default)]
pub struct Recap {
    hosts: IndexMap<String, HostStats>,
}

impl Recap {
    pub fn entry(&mut self, host: &str) -> &mut HostStats {
        self.hosts.entry(host.to_string()).or_default()
    }

    pub fn hosts(&self) -> impl Iterator<Item = (&String, &HostStats)> {
        let mut v: Vec<_> = self.hosts.iter().collect();
        v.sort_by(|a, b| a.0.cmp(b.0));
        v.into_iter()
    }

    pub fn any_failed(&self) -> bool {
        self.hosts.values().any(|s| s.failed > 0)
    }

    pub fn any_unreachable(&self) -> bool {
        self.hosts.values().any(|s| s.unreachable > 0)
    }

    pub fn to_json(&self) -> Value {
        let mut m = serde_json::Map::new();
        for (h, s) in self.hosts() {
            m.insert(
                h.clone(),
                json!({"ok": s.ok, "changed": s.changed, "unreachable": s.unreachable, "failures": s.failed,
                       "skipped": s.skipped, "rescued": s.rescued, "ignored": s.ignored}),
            );
        }
        Value::Object(m)
    }
}

/// `web1                       : ok=5    changed=4    unreachable=0    failed=0    ...`
pub fn line(host: &str, s: &HostStats, color: bool) -> String {
    let paint = |code: &str, text: String, on: bool| {
        if color && on {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text
        }
    };
    let host_color = if s.failed > 0 || s.unreachable > 0 {
        "0;31"
    } else if s.changed > 0 {
        "0;33"
    } else {
        "0;32"
    };
    let field = |name: &str, n: u32, code: &str| paint(code, format!("{name}={n:<4}"), n > 0);
    format!(
        "{} : {} {} {} {} {} {} {}",
        paint(host_color, format!("{host:<26}"), true),
        field("ok", s.ok, "0;32"),
        field("changed", s.changed, "0;33"),
        field("unreachable", s.unreachable, "1;31"),
        field("failed", s.failed, "0;31"),
        field("skipped", s.skipped, "0;36"),
        field("rescued", s.rescued, "0;35"),
        field("ignored", s.ignored, "0;35"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn ansible_format() {
        let s = HostStats {
            ok: 5,
            changed: 4,
            ..Default::default()
        };
        assert_eq!(
            line("web1", &s, false),
            "web1                       : ok=5    changed=4    unreachable=0    failed=0    skipped=0    rescued=0    ignored=0   "
        );
    }
}
