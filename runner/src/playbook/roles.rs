//! Roles: finding them, their defaults/vars/handlers, and `meta/main.yml` dependencies,
//! run depth-first in listed order, each once per play; a dependency cycle is an error.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Map, Value};

use super::model::{Inherited, Item, Role, RoleData, Task};
use super::parse::{flatten_tasks, FileKind, Parser};
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

/// The keywords of a role entry (Ansible's RoleInclude attributes); every other key is a
/// role parameter.
const ROLE_KEYWORDS: &[&str] = &[
    "role",
    "name",
    "connection",
    "port",
    "remote_user",
    "vars",
    "module_defaults",
    "environment",
    "no_log",
    "run_once",
    "ignore_errors",
    "ignore_unreachable",
    "check_mode",
    "diff",
    "any_errors_fatal",
    "throttle",
    "timeout",
    "debugger",
    "become",
    "become_method",
    "become_user",
    "become_flags",
    "become_exe",
    "when",
    "tags",
    "collections",
    "delegate_to",
    "delegate_facts",
];

/// How a role is brought in, besides its name.
#[derive(Debug, Clone, Default)]
pub struct RoleCall {
    pub params: Map<String, Value>,
    /// The entry's `vars:`.
    pub listed_vars: Map<String, Value>,
    /// The entry's `when` and `tags`, part of what makes two listings the same role.
    pub keywords: String,
    /// Brought in by import_role / include_role: never the same role as a `roles:` entry.
    pub from_include: bool,
    /// The roles that bring this one in, outermost first.
    pub parents: Vec<Arc<RoleData>>,
    /// A `roles:` entry or import_role: one of the play's roles (`Play::roles`).
    pub listed: bool,
    /// Whether the play sees its defaults and vars (see `Role::public`).
    pub public: bool,
    /// include_role / import_role's `allow_duplicates` (default true); else the role's meta.
    pub allow_duplicates: Option<bool>,
}

/// Whether a role the play lists (`static`: `roles:`, import_role) or includes exports its
/// variables when it doesn't say: ANSIBLE_PRIVATE_ROLE_VARS when set, else only static ones
/// (Ansible's Role `public`).
fn default_public(static_: bool) -> bool {
    match std::env::var("ANSIBLE_PRIVATE_ROLE_VARS") {
        Ok(v) if !v.trim().is_empty() => {
            !timonel_modules::spec::to_bool(&Value::String(v)).unwrap_or(false)
        }
        _ => static_,
    }
}

impl RoleCall {
    /// import_role (`import`) or include_role `t`: the call, and what the role's tasks
    /// inherit, with `own` (include_role's loop item and `vars:`) as include params. Inside
    /// a role, the role brought in has it as a parent, and gets its parameters and
    /// `ansible_parent_role_names` / `_paths` as include params too.
    pub fn from_task(t: &Task, import: bool, own: &Map<String, Value>) -> (RoleCall, Inherited) {
        let mut inh = t.inh.clone();
        crate::inventory::merge(&mut inh.include_params, own);
        let mut call = RoleCall {
            from_include: true,
            listed: import,
            public: t
                .args
                .get("public")
                .and_then(timonel_modules::spec::to_bool)
                .unwrap_or_else(|| default_public(import)),
            allow_duplicates: Some(
                t.args
                    .get("allow_duplicates")
                    .and_then(timonel_modules::spec::to_bool)
                    .unwrap_or(true),
            ),
            ..RoleCall::default()
        };
        if let Some(parent) = &t.inh.role {
            call.parents = parent.chain_for_children();
            crate::inventory::combine(&mut inh.include_params, &parent.role_params());
            for (key, value) in [
                ("ansible_parent_role_names", parent.name.clone()),
                (
                    "ansible_parent_role_paths",
                    parent.path.display().to_string(),
                ),
            ] {
                let mut list = vec![Value::String(value)];
                if let Some(Value::Array(outer)) = t.inh.include_params.get(key) {
                    list.extend(outer.iter().cloned());
                }
                inh.include_params.insert(key.into(), Value::Array(list));
            }
        }
        (call, inh)
    }
}

/// `tasks_from: name` as Ansible finds it: the name, or with .yml, .yaml or .json.
fn named_file(dir: &Path, name: &str) -> Option<PathBuf> {
    ["", ".yml", ".yaml", ".json"]
        .iter()
        .map(|ext| dir.join(format!("{name}{ext}")))
        .find(|p| p.is_file())
}

/// Whether `file` is under `dir` once `.` and `..` are resolved (as Python's abspath; links
/// are not followed, as Ansible's is_subpath).
fn lexically_inside(file: &Path, dir: &Path) -> bool {
    fn normal(p: &Path) -> PathBuf {
        let abs = if p.is_absolute() {
            p.to_path_buf()
        } else {
            std::env::current_dir().unwrap_or_default().join(p)
        };
        let mut out = PathBuf::new();
        for c in abs.components() {
            match c {
                std::path::Component::ParentDir => {
                    out.pop();
                }
                std::path::Component::CurDir => {}
                other => out.push(other),
            }
        }
        out
    }
    normal(file).starts_with(normal(dir))
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

    /// A `roles:` entry or a `meta/main.yml` dependency: `- name`, or `- role: name` with
    /// keywords (when, tags, become, vars, ...) and parameters (every other key). Returns
    /// the role's tasks and the role (for its parent's dependencies).
    pub fn role_entry(
        &mut self,
        entry: &Node,
        inh: &Inherited,
        chain: &mut Vec<String>,
        from: Option<&Path>,
        parents: &[Arc<RoleData>],
    ) -> (Vec<Item>, Option<Arc<Role>>) {
        let mut call = RoleCall {
            parents: parents.to_vec(),
            listed: chain.is_empty(),
            public: default_public(true),
            ..RoleCall::default()
        };
        let name = match entry.scalar_text() {
            Some(n) if entry.as_map().is_none() => n,
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
                    return (vec![], None);
                };
                for (k, v) in entry.as_map().unwrap_or(&[]) {
                    let key = k.scalar_text().unwrap_or_default();
                    match key.as_str() {
                        "vars" => {
                            if let Value::Object(m) = v.to_json() {
                                call.listed_vars = m;
                            }
                        }
                        "when" | "tags" => {
                            call.keywords.push_str(&format!("{key}={};", v.to_json()))
                        }
                        k if ROLE_KEYWORDS.contains(&k) => {}
                        _ => {
                            call.params.insert(key, v.to_json());
                        }
                    }
                }
                n
            }
        };
        let r_inh = match entry.as_map() {
            Some(_) => self.inherit_except(entry, inh, &["vars"]),
            None => inh.clone(),
        };
        self.expand_role(&name, call, &r_inh, &entry.pos, chain, from)
    }

    /// A role's dependencies, then its tasks, then its end (see `Item::RoleEnd`); the
    /// handlers of its first listing join the play's.
    pub fn expand_role(
        &mut self,
        name: &str,
        call: RoleCall,
        inh: &Inherited,
        pos: &Pos,
        chain: &mut Vec<String>,
        from: Option<&Path>,
    ) -> (Vec<Item>, Option<Arc<Role>>) {
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
            return (vec![], None);
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
            return (vec![], None);
        };
        let files = self.role_from.take().unwrap_or_default();
        let (deps, meta_allows) = self.role_meta(&path);
        // What makes two listings the same role, as Ansible's Role hash: name, path,
        // parameters, when, tags, the files named, vars, and whether include/import_role.
        // Every listing is expanded; the engine skips one whose equal completed already.
        let key = format!(
            "{name}|{}|{}|{}|{}|{files:?}|{}",
            path.display(),
            Value::Object(call.params.clone()),
            Value::Object(call.listed_vars.clone()),
            call.keywords,
            call.from_include
        );
        let first = !self.roles_seen.contains(&key);
        // `tasks_from: /elsewhere/x.yml` or `../../x`: a role loads only its own files.
        for (sub, from) in [
            ("tasks", &files.tasks),
            ("vars", &files.vars),
            ("defaults", &files.defaults),
            ("handlers", &files.handlers),
        ] {
            let dir = path.join(sub);
            if let Some(found) = from
                .as_ref()
                .and_then(|n| named_file(&dir, n))
                .filter(|f| !lexically_inside(f, &dir))
            {
                self.err(Diagnostic::at(
                    pos,
                    format!(
                        "Failed loading '{}' for role ({name}) as it is not inside the expected role path: '{}'",
                        found.display(),
                        dir.display()
                    ),
                ));
                return (vec![], None);
            }
        }
        let load_vars = |p: &mut Parser, sub: &str, from: &Option<String>| -> Map<String, Value> {
            let mut all = Map::new();
            let files = match from {
                Some(n) => named_file(&path.join(sub), n).into_iter().collect(),
                None => vars_files(&path.join(sub)),
            };
            for f in files {
                match crate::inventory::dirvars_file(&f) {
                    Ok(m) => crate::inventory::combine(&mut all, &m),
                    Err(e) => p.err(e),
                }
            }
            all
        };
        let own = Arc::new(RoleData {
            name: name.to_string(),
            path: path.clone(),
            defaults: load_vars(self, "defaults", &files.defaults),
            vars: load_vars(self, "vars", &files.vars),
            params: call.params,
            listed_vars: call.listed_vars,
        });
        let mut children = call.parents.clone();
        children.push(own.clone());
        chain.push(name.to_string());
        let mut items = vec![];
        let mut dep_roles = vec![];
        for dep in &deps {
            let (dep_items, dep_role) = self.role_entry(dep, inh, chain, path.parent(), &children);
            items.extend(dep_items);
            dep_roles.extend(dep_role);
        }
        chain.pop();
        let role = Arc::new(Role {
            own,
            deps: dep_roles,
            parents: call.parents,
            key: key.clone(),
            allow_duplicates: call.allow_duplicates.unwrap_or(meta_allows),
            public: call.public,
        });
        if first {
            self.roles_seen.push(key);
        }
        if call.listed {
            self.play_roles.push(role.clone());
        }
        let mut r_inh = inh.clone();
        r_inh.role = Some(role.clone());
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
        if let Some(h) = pick("handlers", &files.handlers).filter(|_| first) {
            let hs = self.task_file(&h, &r_inh, Some(pos), FileKind::Role);
            flatten_tasks(&hs, &mut self.role_handlers);
        }
        if let Some(t) = pick("tasks", &files.tasks) {
            items.extend(self.task_file(&t, &r_inh, Some(pos), FileKind::Role));
        }
        items.push(Item::RoleEnd(role.clone()));
        (items, Some(role))
    }

    /// `meta/main.yml`: the dependency entries and `allow_duplicates`.
    fn role_meta(&mut self, path: &Path) -> (Vec<Node>, bool) {
        let Some(meta) = main_file(&path.join("meta")) else {
            return (vec![], false);
        };
        match load_file(&meta) {
            Ok((_, docs)) => {
                let Some(doc) = docs.first() else {
                    return (vec![], false);
                };
                let deps = doc
                    .get("dependencies")
                    .and_then(|d| d.as_seq())
                    .map(|d| d.to_vec())
                    .unwrap_or_default();
                let dup = doc
                    .get("allow_duplicates")
                    .and_then(|v| timonel_modules::spec::to_bool(&v.to_json()))
                    .unwrap_or(false);
                (deps, dup)
            }
            Err(e) => {
                self.err(e);
                (vec![], false)
            }
        }
    }
}
