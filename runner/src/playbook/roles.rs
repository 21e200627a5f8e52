//! Roles: finding them, their defaults/vars/handlers, and `meta/main.yml` dependencies,
//! run depth-first in listed order, each once per play; a dependency cycle is an error.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Map, Value};

use super::model::{Inherited, Item, Role};
use super::parse::{flatten_tasks, to_string_list, FileKind, Parser};
use crate::diag::{Diagnostic, Pos};
use crate::yaml::{load_file, Node};

/// The files of a role that `import_role` names instead of the main ones.
#[derive(Debug, Clone, Default)]
pub struct RoleFrom {
    pub tasks: Option<String>,
    pub vars: Option<String>,
    pub defaults: Option<String>,
    pub handlers: Option<String>,
}

impl RoleFrom {
    pub fn from_args(args: &Map<String, Value>) -> RoleFrom {
        let get = |k: &str| args.get(k).and_then(Value::as_str).map(str::to_string);
        RoleFrom {
            tasks: get("tasks_from"),
            vars: get("vars_from"),
            defaults: get("defaults_from"),
            handlers: get("handlers_from"),
        }
    }
}

/// `tasks_from: name` as Ansible finds it: the name, or with .yml, .yaml or .json.
fn named_file(dir: &Path, name: &str) -> Option<PathBuf> {
    ["", ".yml", ".yaml", ".json"]
        .iter()
        .map(|ext| dir.join(format!("{name}{ext}")))
        .find(|p| p.is_file())
}

fn main_file(dir: &Path) -> Option<PathBuf> {
    ["main.yml", "main.yaml", "main"]
        .iter()
        .map(|f| dir.join(f))
        .find(|p| p.is_file())
}

/// A role's defaults or vars files, as Ansible's `find_vars_files` picks them: the first of
/// main.yml, main.yaml, main.json, main; when `main` is a directory, every file in it (and
/// in its subdirectories) in name order, skipping hidden files, backups and other extensions.
pub fn vars_files(dir: &Path) -> Vec<PathBuf> {
    for name in ["main.yml", "main.yaml", "main.json", "main"] {
        let p = dir.join(name);
        if p.is_dir() {
            let mut out = vec![];
            dir_vars_files(&p, &mut out);
            return out;
        }
        if p.is_file() {
            return vec![p];
        }
    }
    vec![]
}

fn dir_vars_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut names: Vec<_> = rd.filter_map(|e| e.ok()).map(|e| e.file_name()).collect();
    names.sort();
    for n in names {
        let text = n.to_string_lossy();
        if text.starts_with('.') || text.ends_with('~') {
            continue;
        }
        let p = dir.join(&n);
        let ext = p.extension().map(|e| e.to_string_lossy().into_owned());
        match ext.as_deref() {
            None if p.is_dir() => dir_vars_files(&p, out),
            None | Some("yml" | "yaml" | "json") if p.is_file() => out.push(p),
            _ => {}
        }
    }
}

impl Parser {
    /// `from`: the directory holding the role that declares this one as a dependency;
    /// Ansible looks there too, so `- role: policy/calico` in roles/apps/policy/meta finds
    /// roles/apps/policy/calico.
    fn find_role(&self, name: &str, from: Option<&Path>) -> Option<PathBuf> {
        let mut bases = vec![self.play_dir.join("roles")];
        bases.extend(from.map(Path::to_path_buf));
        bases.push(self.play_dir.clone());
        if let Ok(cwd) = std::env::current_dir() {
            bases.push(cwd.join("roles"));
        }
        if let Ok(rp) = std::env::var("ANSIBLE_ROLES_PATH") {
            bases.extend(rp.split(':').map(PathBuf::from));
        }
        bases.push(self.play_dir.join("../roles"));
        bases.into_iter().map(|b| b.join(name)).find(|p| p.is_dir())
    }

    /// A `roles:` entry: `- name`, `- role: name` with parameters, when, tags, become.
    pub fn role_entry(
        &mut self,
        entry: &Node,
        inh: &Inherited,
        chain: &mut Vec<String>,
        from: Option<&Path>,
    ) -> Vec<Item> {
        let (name, params, kw_node) = match entry.scalar_text() {
            Some(n) if entry.as_map().is_none() => (n, Map::new(), None),
            _ => {
                let Some(n) = entry
                    .get("role")
                    .or_else(|| entry.get("name"))
                    .and_then(Node::scalar_text)
                else {
                    self.err(Diagnostic::at(
                        &entry.pos,
                        "a role entry needs 'role: <name>'",
                    ));
                    return vec![];
                };
                let mut params = Map::new();
                for (k, v) in entry.as_map().unwrap_or(&[]) {
                    let key = k.scalar_text().unwrap_or_default();
                    if ![
                        "role",
                        "name",
                        "when",
                        "tags",
                        "become",
                        "become_user",
                        "become_method",
                        "vars",
                        "environment",
                        "ignore_errors",
                        "delegate_to",
                        "no_log",
                    ]
                    .contains(&key.as_str())
                    {
                        params.insert(key, v.to_json());
                    } else if key == "vars" {
                        if let Value::Object(m) = v.to_json() {
                            crate::inventory::merge(&mut params, &m);
                        }
                    }
                }
                (n, params, Some(entry))
            }
        };
        let mut r_inh = inh.clone();
        if let Some(n) = kw_node {
            for (k, v) in n.as_map().unwrap_or(&[]) {
                match k.as_str().unwrap_or("") {
                    "when" => {
                        let c = self.conds(v, "when");
                        r_inh.when.extend(c);
                    }
                    "tags" => r_inh.tags.extend(to_string_list(v)),
                    "become" => r_inh.become_.become_ = Some(v.to_json()),
                    "become_user" => r_inh.become_.user = v.scalar_text(),
                    _ => {}
                }
            }
        }
        self.expand_role(&name, params, &r_inh, &entry.pos, chain, from)
    }

    pub fn expand_role(
        &mut self,
        name: &str,
        params: Map<String, Value>,
        inh: &Inherited,
        pos: &Pos,
        chain: &mut Vec<String>,
        from: Option<&Path>,
    ) -> Vec<Item> {
        if let Some(i) = chain.iter().position(|c| c == name) {
            let mut cycle: Vec<String> = chain[i..].to_vec();
            cycle.push(name.to_string());
            self.err(
                Diagnostic::at(
                    pos,
                    format!("role dependency cycle: {}", cycle.join(" -> ")),
                )
                .help("remove one of these dependencies from meta/main.yml"),
            );
            return vec![];
        }
        let Some(path) = self.find_role(name, from) else {
            self.err(
                Diagnostic::at(pos, format!("role '{name}' not found")).help(format!(
                    "looked in {}/roles/, {}./roles/ and ANSIBLE_ROLES_PATH",
                    self.play_dir.display(),
                    from.map(|f| format!("{}/, ", f.display()))
                        .unwrap_or_default()
                )),
            );
            return vec![];
        };
        let files = self.role_from.take().unwrap_or_default();
        let key = (
            name.to_string(),
            format!("{}{files:?}", Value::Object(params.clone())),
        );
        if self.roles_seen.contains(&key) {
            return vec![];
        }
        chain.push(name.to_string());
        let mut items = vec![];
        if let Some(meta) = main_file(&path.join("meta")) {
            match load_file(&meta) {
                Ok((_, docs)) => {
                    if let Some(deps) = docs
                        .first()
                        .and_then(|d| d.get("dependencies"))
                        .and_then(|d| d.as_seq())
                    {
                        for dep in deps {
                            items.extend(self.role_entry(dep, inh, chain, path.parent()));
                        }
                    }
                }
                Err(e) => self.err(e),
            }
        }
        chain.pop();
        self.roles_seen.push(key);
        let load_vars = |p: &mut Parser, sub: &str, from: &Option<String>| -> Map<String, Value> {
            let mut all = Map::new();
            let files = match from {
                Some(n) => named_file(&path.join(sub), n).into_iter().collect(),
                None => vars_files(&path.join(sub)),
            };
            for f in files {
                match crate::inventory::dirvars_file(&f) {
                    Ok(m) => crate::inventory::merge(&mut all, &m),
                    Err(e) => p.err(e),
                }
            }
            all
        };
        let role = Arc::new(Role {
            name: name.to_string(),
            path: path.clone(),
            defaults: load_vars(self, "defaults", &files.defaults),
            vars: load_vars(self, "vars", &files.vars),
            params,
        });
        self.play_roles.push(role.clone());
        let mut r_inh = inh.clone();
        r_inh.role = Some(role);
        let pick = |sub: &str, from: &Option<String>| match from {
            Some(n) => named_file(&path.join(sub), n),
            None => main_file(&path.join(sub)),
        };
        if let Some(n) = files
            .tasks
            .as_ref()
            .filter(|_| pick("tasks", &files.tasks).is_none())
        {
            self.err(Diagnostic::at(
                pos,
                format!(
                    "tasks_from: no file '{n}' in {}",
                    path.join("tasks").display()
                ),
            ));
        }
        if let Some(h) = pick("handlers", &files.handlers) {
            let hs = self.task_file(&h, &r_inh, Some(pos), FileKind::Role);
            flatten_tasks(&hs, &mut self.role_handlers);
        }
        if let Some(t) = pick("tasks", &files.tasks) {
            items.extend(self.task_file(&t, &r_inh, Some(pos), FileKind::Role));
        }
        items
    }
}
