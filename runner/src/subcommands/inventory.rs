//! `timonel inventory --list | --graph | --host`.

use serde_json::{json, Map, Value};

use crate::cli::InventoryArgs;
use crate::exec::exit;
use crate::inventory::{DirVars, Inventory};

fn graph(inv: &Inventory, group: &str, depth: usize, out: &mut String) {
    let pad = "  |".repeat(depth);
    out.push_str(&format!(
        "{}{}@{group}:\n",
        pad,
        if depth > 0 { "--" } else { "" }
    ));
    let Some(g) = inv.groups.get(group) else {
        return;
    };
    let mut children = g.children.clone();
    children.sort();
    for c in children {
        if c == "ungrouped"
            && inv
                .groups
                .get("ungrouped")
                .is_none_or(|u| u.hosts.is_empty())
        {
            continue;
        }
        graph(inv, &c, depth + 1, out);
    }
    for h in &g.hosts {
        out.push_str(&format!("{}  |--{h}\n", pad));
    }
}

pub fn run(args: InventoryArgs) -> i32 {
    let inv = match super::run::load_inventory(&args.inventory) {
        Ok(i) => i,
        Err(d) => {
            eprint!("{d}");
            return exit::BAD_INPUT;
        }
    };
    let none = DirVars::default();
    if let Some(h) = &args.host {
        if !inv.hosts.contains_key(h) {
            eprintln!("error: host '{h}' is not in the inventory");
            return exit::BAD_INPUT;
        }
        crate::outln!(
            "{}",
            serde_json::to_string_pretty(&Value::Object(inv.host_vars(h, &none)))
                .unwrap_or_default()
        );
        return exit::OK;
    }
    if args.graph {
        let mut out = String::new();
        graph(&inv, "all", 0, &mut out);
        crate::out!("{out}");
        return exit::OK;
    }
    let allowed: Option<std::collections::HashSet<String>> = args
        .limit
        .as_deref()
        .map(|l| inv.select(l).unwrap_or_default().into_iter().collect());
    let mut root = Map::new();
    let mut hostvars = Map::new();
    for h in inv
        .hosts
        .keys()
        .filter(|h| allowed.as_ref().is_none_or(|a| a.contains(*h)))
    {
        hostvars.insert(h.clone(), Value::Object(inv.host_vars(h, &none)));
    }
    root.insert("_meta".into(), json!({"hostvars": hostvars}));
    for (name, g) in &inv.groups {
        let mut e = Map::new();
        let hosts: Vec<&String> = g
            .hosts
            .iter()
            .filter(|h| allowed.as_ref().is_none_or(|a| a.contains(*h)))
            .collect();
        if !hosts.is_empty() {
            e.insert("hosts".into(), json!(hosts));
        }
        if !g.children.is_empty() {
            e.insert("children".into(), json!(g.children));
        }
        if !e.is_empty() {
            root.insert(name.clone(), Value::Object(e));
        }
    }
    crate::outln!(
        "{}",
        serde_json::to_string_pretty(&Value::Object(root)).unwrap_or_default()
    );
    exit::OK
}
