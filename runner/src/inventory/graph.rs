//! The group tree's shape, derived once per inventory change: each group's parents and its
//! depth below `all`. A host's groups are then its own groups and their ancestors, found
//! without scanning every group's host list (which made large inventories quadratic).

use std::collections::HashMap;

use super::Group;

#[derive(Debug, Default, Clone)]
pub struct GroupGraph {
    parents: HashMap<String, Vec<String>>,
    /// The longest path from `all`, as Ansible orders group variables by it.
    depth: HashMap<String, usize>,
}

impl GroupGraph {
    pub fn new(groups: &indexmap::IndexMap<String, Group>) -> GroupGraph {
        let mut parents: HashMap<String, Vec<String>> = HashMap::new();
        for (name, g) in groups {
            for c in &g.children {
                parents.entry(c.clone()).or_default().push(name.clone());
            }
        }
        let mut depth: HashMap<String, usize> = HashMap::new();
        let mut frontier = vec![("all".to_string(), 0usize)];
        while let Some((g, d)) = frontier.pop() {
            if depth.get(&g).is_some_and(|c| *c >= d) {
                continue;
            }
            depth.insert(g.clone(), d);
            if let Some(grp) = groups.get(&g) {
                for c in &grp.children {
                    frontier.push((c.clone(), d + 1));
                }
            }
        }
        GroupGraph { parents, depth }
    }

    /// `direct` and every group above them that hangs under `all`, with their depths,
    /// sorted shallow first, then by name.
    pub fn with_ancestors<'a>(
        &self,
        direct: impl Iterator<Item = &'a String>,
    ) -> Vec<(String, usize)> {
        let mut seen: std::collections::HashSet<&str> = std::collections::HashSet::new();
        seen.insert("all");
        let mut stack: Vec<&str> = direct.map(String::as_str).collect();
        while let Some(g) = stack.pop() {
            if !seen.insert(g) {
                continue;
            }
            if let Some(ps) = self.parents.get(g) {
                stack.extend(ps.iter().map(String::as_str));
            }
        }
        let mut out: Vec<(String, usize)> = seen
            .into_iter()
            .filter_map(|g| self.depth.get(g).map(|d| (g.to_string(), *d)))
            .collect();
        out.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(&b.0)));
        out
    }
}
