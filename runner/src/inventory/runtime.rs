//! Changes to the inventory while a run goes on (add_host, group_by), so a play that creates
//! servers can hand them to the next one. Each says whether anything really changed, which
//! is what the task reports, as in Ansible.

use serde_json::{Map, Value};

use super::Inventory;

impl Inventory {
    /// `add_host`: the host, its groups and its variables. Changed when the host, one of
    /// its group memberships or a variable's value is new (Ansible's add_dynamic_host).
    pub fn add_run_host(
        &mut self,
        name: &str,
        groups: &[String],
        vars: &Map<String, Value>,
    ) -> bool {
        let mut changed = !self.hosts.contains_key(name);
        self.hosts.entry(name.to_string()).or_default();
        for g in groups {
            changed |= self.join(name, g);
        }
        if let Some(h) = self.hosts.get_mut(name) {
            let before = h.vars.clone();
            super::combine(&mut h.vars, vars);
            changed |= h.vars != before;
        }
        self.finish();
        changed
    }

    /// `group_by`: `host` joins `group`, which hangs under `parents`.
    pub fn group_by(&mut self, host: &str, group: &str, parents: &[String]) -> bool {
        let mut changed = self.join(host, group);
        for p in parents.iter().filter(|p| *p != "all") {
            changed |= !self
                .groups
                .get(p)
                .is_some_and(|g| g.children.iter().any(|c| c == group));
            self.add_child(p, group);
        }
        self.finish();
        changed
    }

    fn join(&mut self, host: &str, group: &str) -> bool {
        let new = !self.lists(group, host);
        self.add_host(host, group);
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn added_hosts_and_groups_are_selectable_and_counted_once() {
        let mut inv = Inventory::new();
        let vars = serde_json::json!({"ansible_host": "10.0.0.5"});
        let vars = vars.as_object().unwrap();
        assert!(inv.add_run_host("web1", &["web".into()], vars));
        assert!(!inv.add_run_host("web1", &["web".into()], vars));
        let other = serde_json::json!({"ansible_host": "10.0.0.6"});
        assert!(inv.add_run_host("web1", &[], other.as_object().unwrap()));
        assert!(inv.add_run_host("db1", &[], &Map::new()));
        assert_eq!(inv.select("web").unwrap(), ["web1"]);
        assert_eq!(inv.select("ungrouped").unwrap(), ["db1"]);
        assert_eq!(inv.select("all").unwrap(), ["web1", "db1"]);
        assert!(inv.group_by("db1", "debian", &["linux".into()]));
        assert!(!inv.group_by("db1", "debian", &["linux".into()]));
        assert_eq!(inv.select("linux").unwrap(), ["db1"]);
        assert!(inv.select("ungrouped").unwrap().is_empty());
        assert_eq!(inv.hosts["web1"].vars["ansible_host"], "10.0.0.6");
    }
}
