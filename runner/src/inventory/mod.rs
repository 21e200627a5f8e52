//! Ansible-compatible inventories: hosts, groups, their variables, and host patterns.

mod combine;
mod dirvars;
mod graph;
mod hetzner;
mod ini;
mod patterns;
mod ranges;
mod runtime;
mod slice;
mod yaml_inv;

use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde_json::{Map, Value};

pub use combine::combine;
pub use dirvars::{load_vars_file as dirvars_file, DirVars};
pub use patterns::PatternError;
pub use slice::Slice;

use crate::diag::Diagnostic;

#[derive(Debug, Default, Clone)]
pub struct Group {
    pub hosts: Vec<String>,
    pub children: Vec<String>,
    pub vars: Map<String, Value>,
}

#[derive(Debug, Default, Clone)]
pub struct HostEntry {
    pub vars: Map<String, Value>,
    /// The groups that list this host themselves (not through a child group).
    pub member_of: Vec<String>,
}

#[derive(Debug, Default, Clone)]
pub struct Inventory {
    pub hosts: IndexMap<String, HostEntry>,
    pub groups: IndexMap<String, Group>,
    /// group_vars/ and host_vars/ found next to the inventory sources.
    pub dir_vars: DirVars,
    /// Derived from `groups` when first needed; a change to the group tree resets it.
    graph: std::sync::OnceLock<graph::GroupGraph>,
}

impl Inventory {
    pub fn new() -> Inventory {
        let mut inv = Inventory::default();
        inv.groups.insert("all".into(), Group::default());
        inv.groups.insert("ungrouped".into(), Group::default());
        inv
    }

    /// Loads every `-i` source (files, directories, or `host1,host2,` lists).
    pub fn load(sources: &[String]) -> Result<Inventory, Diagnostic> {
        let mut inv = Inventory::new();
        for s in sources {
            let p = Path::new(s);
            if !p.exists() && s.contains(',') {
                for h in s.split(',').map(str::trim).filter(|h| !h.is_empty()) {
                    inv.add_host(h, "ungrouped");
                }
                continue;
            }
            if p.is_dir() {
                let mut entries: Vec<PathBuf> = std::fs::read_dir(p)
                    .map_err(|e| {
                        Diagnostic::plain(format!("cannot read inventory directory {s}: {e}"))
                    })?
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|e| e.is_file() && !ignored(e))
                    .collect();
                entries.sort();
                for e in entries {
                    inv.load_file(&e)?;
                }
                inv.dir_vars.load(p)?;
            } else if p.is_file() {
                inv.load_file(p)?;
                inv.dir_vars.load(p.parent().unwrap_or(Path::new(".")))?;
            } else {
                return Err(Diagnostic::plain(format!("inventory source '{s}' does not exist"))
                    .help("pass an inventory file or directory with -i, or a comma-separated host list like 'web1,web2,'"));
            }
        }
        inv.finish();
        Ok(inv)
    }

    fn load_file(&mut self, p: &Path) -> Result<(), Diagnostic> {
        let text = crate::limits::read_to_string(p).map_err(|e| {
            Diagnostic::plain(format!("cannot read inventory {}: {e}", p.display()))
        })?;
        let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
        let looks_yaml = matches!(ext, "yml" | "yaml" | "json")
            || text
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty() && !l.starts_with('#'))
                .is_some_and(|l| l.ends_with(':') || l == "---");
        if looks_yaml {
            yaml_inv::parse(self, p)
        } else {
            ini::parse(self, p, &text)
        }
    }

    pub fn add_host(&mut self, name: &str, group: &str) {
        let entry = self.hosts.entry(name.to_string()).or_default();
        if entry.member_of.iter().any(|g| g == group) {
            return;
        }
        entry.member_of.push(group.to_string());
        let g = self.groups.entry(group.to_string()).or_default();
        g.hosts.push(name.to_string());
    }

    /// Whether `group` lists `host` itself.
    pub fn lists(&self, group: &str, host: &str) -> bool {
        self.hosts
            .get(host)
            .is_some_and(|h| h.member_of.iter().any(|g| g == group))
    }

    pub fn add_child(&mut self, parent: &str, child: &str) {
        self.graph = Default::default();
        self.groups.entry(child.to_string()).or_default();
        let g = self.groups.entry(parent.to_string()).or_default();
        if !g.children.iter().any(|c| c == child) {
            g.children.push(child.to_string());
        }
    }

    /// The loop that making `child` a child group of `parent` would close, as the list of
    /// groups from `parent` back to itself; `None` when there is none. Ansible refuses such
    /// an inventory ("creates a recursive dependency loop"): the groups would hang under
    /// nothing, and their hosts and variables would be lost.
    pub fn child_cycle(&self, parent: &str, child: &str) -> Option<Vec<String>> {
        if parent == child {
            return Some(vec![parent.to_string(), child.to_string()]);
        }
        // A path child -> ... -> parent, found depth-first.
        let mut stack = vec![vec![child.to_string()]];
        let mut seen = std::collections::HashSet::new();
        while let Some(path) = stack.pop() {
            let last = path.last().expect("paths are not empty");
            if last == parent {
                let mut cycle = vec![parent.to_string()];
                cycle.extend(path);
                return Some(cycle);
            }
            if !seen.insert(last.clone()) {
                continue;
            }
            if let Some(g) = self.groups.get(last) {
                for c in g.children.iter().rev() {
                    let mut p = path.clone();
                    p.push(c.clone());
                    stack.push(p);
                }
            }
        }
        None
    }

    /// Hosts that belong to no group but `all` go to `ungrouped`; every group hangs under `all`.
    fn finish(&mut self) {
        self.graph = Default::default();
        let names: Vec<String> = self.groups.keys().cloned().collect();
        let children: std::collections::HashSet<String> = self
            .groups
            .values()
            .flat_map(|g| g.children.iter().cloned())
            .collect();
        for n in &names {
            if n != "all" && !children.contains(n) {
                self.add_child("all", n);
            }
        }
        let grouped: std::collections::HashSet<String> = self
            .groups
            .iter()
            .filter(|(n, _)| *n != "all" && *n != "ungrouped")
            .flat_map(|(_, g)| g.hosts.iter().cloned())
            .collect();
        let all_hosts: Vec<String> = self.hosts.keys().cloned().collect();
        for h in all_hosts {
            if !grouped.contains(&h) {
                self.add_host(&h, "ungrouped");
            }
        }
        if let Some(u) = self.groups.get_mut("ungrouped") {
            u.hosts.retain(|h| !grouped.contains(h));
        }
        for h in &grouped {
            if let Some(e) = self.hosts.get_mut(h) {
                e.member_of.retain(|g| g != "ungrouped");
            }
        }
    }

    /// All hosts of a group, including those of its child groups, in inventory order.
    pub fn group_hosts(&self, group: &str) -> Vec<String> {
        if group == "all" {
            return self.hosts.keys().cloned().collect();
        }
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        let mut stack = vec![group.to_string()];
        let mut visited = std::collections::HashSet::new();
        while let Some(g) = stack.pop() {
            if !visited.insert(g.clone()) {
                continue;
            }
            if let Some(grp) = self.groups.get(&g) {
                for h in &grp.hosts {
                    if seen.insert(h.clone()) {
                        out.push(h.clone());
                    }
                }
                stack.extend(grp.children.iter().rev().cloned());
            }
        }
        out.sort_by_key(|h| self.hosts.get_index_of(h).unwrap_or(usize::MAX));
        out
    }

    /// The groups a host is in (transitively), each with its depth below `all`,
    /// sorted the way Ansible applies group variables: shallow first, then by name.
    pub fn host_groups(&self, host: &str) -> Vec<(String, usize)> {
        let graph = self
            .graph
            .get_or_init(|| graph::GroupGraph::new(&self.groups));
        let direct = self.hosts.get(host).map(|h| h.member_of.iter());
        graph.with_ancestors(direct.into_iter().flatten())
    }

    /// `group_names`: the host's groups except `all`, sorted.
    pub fn group_names(&self, host: &str) -> Vec<String> {
        let mut g: Vec<String> = self
            .host_groups(host)
            .into_iter()
            .map(|(g, _)| g)
            .filter(|g| g != "all")
            .collect();
        g.sort();
        g
    }

    /// Inventory variables of a host in Ansible's precedence order (lowest first), with the
    /// playbook's own group_vars/host_vars layered in where Ansible puts them.
    pub fn host_vars(&self, host: &str, playbook: &DirVars) -> Map<String, Value> {
        let groups = self.host_groups(host);
        let mut out = Map::new();
        for (g, _) in &groups {
            if let Some(grp) = self.groups.get(g) {
                combine(&mut out, &grp.vars);
            }
        }
        for dv in [&self.dir_vars, playbook] {
            if let Some(v) = dv.groups.get("all") {
                combine(&mut out, v);
            }
        }
        for dv in [&self.dir_vars, playbook] {
            for (g, _) in groups.iter().filter(|(g, _)| g != "all") {
                if let Some(v) = dv.groups.get(g) {
                    combine(&mut out, v);
                }
            }
        }
        if let Some(h) = self.hosts.get(host) {
            combine(&mut out, &h.vars);
        }
        for dv in [&self.dir_vars, playbook] {
            if let Some(v) = dv.hosts.get(host) {
                combine(&mut out, v);
            }
        }
        out
    }

    pub fn select(&self, pattern: &str) -> Result<Vec<String>, PatternError> {
        patterns::select(self, pattern)
    }
}

/// The error for a group loop found by `Inventory::child_cycle`.
pub fn cycle_error(
    pos: &crate::diag::Pos,
    parent: &str,
    child: &str,
    cycle: &[String],
) -> Diagnostic {
    Diagnostic::at(
        pos,
        format!(
            "group cycle: making '{child}' a child of '{parent}' creates a loop: {}",
            cycle.join(" → ")
        ),
    )
    .help("a group can't contain itself, directly or through other groups; remove one of these children entries (ansible-core rejects this inventory too)")
}

pub fn merge(into: &mut Map<String, Value>, from: &Map<String, Value>) {
    for (k, v) in from {
        into.insert(k.clone(), v.clone());
    }
}

fn ignored(p: &Path) -> bool {
    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name.starts_with('.')
        || [
            ".retry", "~", ".orig", ".bak", ".pyc", ".cfg", ".md", ".txt",
        ]
        .iter()
        .any(|s| name.ends_with(s))
}
