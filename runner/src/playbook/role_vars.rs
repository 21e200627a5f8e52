//! A role's variables as Ansible layers them (ansible/playbook/role/__init__.py): defaults
//! and vars of its dependencies, of the roles that brought it in (its chain of parents),
//! its own, its parameters. Pure functions of the parsed roles.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::model::{Role, RoleData};
use crate::inventory::combine;

impl Role {
    /// Every dependency, recursively, each after its own dependencies (Ansible's
    /// `get_all_dependencies`; a role listed twice appears twice).
    pub fn all_deps(&self) -> Vec<Arc<Role>> {
        let mut out = vec![];
        for d in &self.deps {
            out.extend(d.all_deps());
            out.push(d.clone());
        }
        out
    }

    /// `get_default_vars`: the dependencies' defaults, then (for a task of this role, with
    /// `with_parents`) the parents' own, then its own.
    pub fn default_vars(&self, with_parents: bool) -> Map<String, Value> {
        let mut out = Map::new();
        for d in self.all_deps() {
            combine(&mut out, &d.default_vars(false));
        }
        if with_parents {
            for p in &self.parents {
                combine(&mut out, &p.defaults);
            }
        }
        combine(&mut out, &self.defaults);
        out
    }

    /// `get_vars(include_params=False)`: with `with_parents` (a task of this role, Ansible's
    /// dep_chain) the parents' vars first; then the dependencies' `vars/` (exported), its
    /// own `vars/`, and unless `only_exports` the `vars:` it was listed with.
    pub fn role_vars(&self, with_parents: bool, only_exports: bool) -> Map<String, Value> {
        let mut out = Map::new();
        if with_parents {
            for p in &self.parents {
                if !only_exports {
                    combine(&mut out, &p.listed_vars);
                }
                combine(&mut out, &p.vars);
            }
        }
        let mut seen: Vec<Arc<Role>> = vec![];
        for d in self.all_deps() {
            if !seen.iter().any(|s| Arc::ptr_eq(s, &d)) {
                combine(&mut out, &d.role_vars(false, true));
                seen.push(d);
            }
        }
        combine(&mut out, &self.vars);
        if !only_exports {
            combine(&mut out, &self.listed_vars);
        }
        out
    }

    /// `get_role_params(dep_chain)`: the parents' parameters, then its own.
    pub fn role_params(&self) -> Map<String, Value> {
        let mut out = Map::new();
        for p in &self.parents {
            combine(&mut out, &p.params);
        }
        combine(&mut out, &self.params);
        out
    }

    /// The parents chain a role brought in by this one gets: this role's, then this role.
    pub fn chain_for_children(&self) -> Vec<Arc<RoleData>> {
        let mut out = self.parents.clone();
        out.push(self.own.clone());
        out
    }
}

/// `role_names` / `ansible_play_role_names` (the play's roles, as listed: a role listed
/// twice is there twice), `ansible_dependent_role_names` (their dependencies) and
/// `ansible_role_names` (both); these two name each role once (Ansible builds them as sets).
pub fn role_name_vars(roles: &[Arc<Role>]) -> [(&'static str, Value); 4] {
    fn add(list: &mut Vec<String>, name: &str) {
        if !list.iter().any(|n| n == name) {
            list.push(name.to_string());
        }
    }
    let mut play = vec![];
    let mut deps = vec![];
    for r in roles {
        play.push(r.name.clone());
        for d in r.all_deps() {
            add(&mut deps, &d.name);
        }
    }
    let mut all = vec![];
    for d in play.iter().chain(&deps) {
        add(&mut all, d);
    }
    [
        ("role_names", Value::from(play.clone())),
        ("ansible_play_role_names", Value::from(play)),
        ("ansible_dependent_role_names", Value::from(deps)),
        ("ansible_role_names", Value::from(all)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn data(name: &str, defaults: Value, vars: Value, params: Value) -> Arc<RoleData> {
        let obj = |v: Value| v.as_object().cloned().unwrap_or_default();
        Arc::new(RoleData {
            name: name.into(),
            path: name.into(),
            defaults: obj(defaults),
            vars: obj(vars),
            params: obj(params),
            listed_vars: Map::new(),
        })
    }

    fn role(own: Arc<RoleData>, deps: Vec<Arc<Role>>, parents: Vec<Arc<RoleData>>) -> Arc<Role> {
        Arc::new(Role {
            own,
            deps,
            parents,
            key: String::new(),
            allow_duplicates: false,
            public: true,
        })
    }

    #[test]
    fn a_dependency_sees_its_parents_vars_and_params_and_its_own_win() {
        let top = data(
            "top",
            json!({}),
            json!({"v": "top", "t": 1}),
            json!({"p": "top"}),
        );
        let mid = data("mid", json!({}), json!({"v": "mid"}), json!({"p": "mid"}));
        let leaf = role(
            data("leaf", json!({}), json!({}), json!({})),
            vec![],
            vec![top.clone(), mid.clone()],
        );
        let vars = leaf.role_vars(true, false);
        assert_eq!(vars["v"], "mid");
        assert_eq!(vars["t"], 1);
        assert_eq!(leaf.role_params()["p"], "mid");
        // Without the chain (what the play sees of it), nothing is inherited.
        assert!(leaf.role_vars(false, true).is_empty());
    }

    #[test]
    fn the_last_dependency_wins_in_exported_vars_and_defaults() {
        let d1 = role(
            data("d1", json!({"x": "d1"}), json!({"y": "d1"}), json!({})),
            vec![],
            vec![],
        );
        let d2 = role(
            data("d2", json!({"x": "d2"}), json!({"y": "d2"}), json!({})),
            vec![],
            vec![],
        );
        let top = role(
            data("top", json!({"z": 1}), json!({}), json!({"y": "param"})),
            vec![d1, d2],
            vec![],
        );
        assert_eq!(top.role_vars(false, true)["y"], "d2");
        assert_eq!(top.default_vars(false)["x"], "d2");
        assert_eq!(top.default_vars(false)["z"], 1);
        // Parameters are never exported.
        assert_eq!(top.role_vars(false, false)["y"], "d2");
    }
}
