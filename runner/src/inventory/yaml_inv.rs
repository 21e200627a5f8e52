//! Ansible's YAML inventory format (`all: {hosts, vars, children}`).

use std::path::Path;

use super::{ranges, Inventory};
use crate::diag::Diagnostic;
use crate::yaml::{load_file, Node};

pub fn parse(inv: &mut Inventory, path: &Path) -> Result<(), Diagnostic> {
    let (_, docs) = load_file(path)?;
    for doc in docs {
        if doc.is_null() {
            continue;
        }
        let map = doc.as_map().ok_or_else(|| {
            Diagnostic::at(&doc.pos, "a YAML inventory is a mapping of group names")
                .help("start with 'all:' and put hosts under 'hosts:'")
        })?;
        for (k, v) in map {
            let name = k.scalar_text().unwrap_or_default();
            if name == "plugin" {
                let plugin = v.scalar_text().unwrap_or_default();
                if super::hetzner::PLUGIN_NAMES.contains(&plugin.as_str()) {
                    return super::hetzner::load(inv, &doc, path);
                }
                return Err(Diagnostic::at(
                    &v.pos,
                    format!("inventory plugin '{plugin}' is not supported"),
                )
                .help(
                    "the inventory plugin timonel has is 'hetzner' (also hetzner.hcloud.hcloud)",
                ));
            }
            group(inv, &name, v)?;
        }
    }
    Ok(())
}

fn group(inv: &mut Inventory, name: &str, node: &Node) -> Result<(), Diagnostic> {
    inv.groups.entry(name.to_string()).or_default();
    if node.is_null() {
        return Ok(());
    }
    let map = node.as_map().ok_or_else(|| {
        Diagnostic::at(
            &node.pos,
            format!(
                "group '{name}' must be a mapping with hosts, vars or children, not {}",
                node.kind()
            ),
        )
    })?;
    for (k, v) in map {
        match k.as_str() {
            Some("hosts") => {
                if v.is_null() {
                    continue;
                }
                let hosts = v.as_map().ok_or_else(|| {
                    Diagnostic::at(&v.pos, format!("'hosts' of group '{name}' must be a mapping of host names, not {}", v.kind()))
                        .help("write each host as 'name:' on its own line, with its variables indented below it")
                })?;
                for (hk, hv) in hosts {
                    let hname = hk.scalar_text().unwrap_or_default();
                    for h in ranges::expand(&hname).map_err(|e| Diagnostic::at(&hk.pos, e))? {
                        inv.add_host(&h, name);
                        if let serde_json::Value::Object(vars) = hv.to_json() {
                            let entry = inv.hosts.get_mut(&h).expect("just added");
                            super::combine(&mut entry.vars, &vars);
                        } else if !hv.is_null() {
                            return Err(Diagnostic::at(
                                &hv.pos,
                                format!("variables of host '{h}' must be a mapping"),
                            ));
                        }
                    }
                }
            }
            Some("vars") => match v.to_json() {
                serde_json::Value::Object(vars) => {
                    let g = inv.groups.entry(name.to_string()).or_default();
                    super::combine(&mut g.vars, &vars);
                }
                serde_json::Value::Null => {}
                _ => {
                    return Err(Diagnostic::at(
                        &v.pos,
                        format!("'vars' of group '{name}' must be a mapping"),
                    ))
                }
            },
            Some("children") => {
                if v.is_null() {
                    continue;
                }
                let children = v.as_map().ok_or_else(|| {
                    Diagnostic::at(
                        &v.pos,
                        format!("'children' of group '{name}' must be a mapping of groups"),
                    )
                })?;
                for (ck, cv) in children {
                    let cname = ck.scalar_text().unwrap_or_default();
                    if let Some(cycle) = inv.child_cycle(name, &cname) {
                        return Err(super::cycle_error(&ck.pos, name, &cname, &cycle));
                    }
                    inv.add_child(name, &cname);
                    group(inv, &cname, cv)?;
                }
            }
            _ => {
                let key = k.scalar_text().unwrap_or_default();
                return Err(Diagnostic::at(
                    &k.pos,
                    format!("unknown key '{key}' in group '{name}'"),
                )
                .help("a group takes 'hosts', 'vars' and 'children'"));
            }
        }
    }
    Ok(())
}
