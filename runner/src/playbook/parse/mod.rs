//! Turns YAML nodes into the playbook model, collecting every error with its position.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Map, Value};

use super::action::{Action, EngineAction, Meta};
use super::keywords;
use super::model::*;
use crate::diag::{Diagnostic, Diagnostics, Pos};
use crate::limits;
use crate::yaml::{load_single_file, Node, Yaml};
use timonel_modules::spec::suggest;

mod items;
mod task;

use task::strip_keys;

pub struct Parser {
    pub errors: Vec<Diagnostic>,
    /// Handlers contributed by roles of the play being parsed.
    pub role_handlers: Vec<Arc<Task>>,
    /// The identities of the roles expanded in this play (their handlers join once).
    pub roles_seen: Vec<String>,
    pub play_roles: Vec<Arc<Role>>,
    pub play_dir: PathBuf,
    /// Names and listen topics of tasks that failed to parse (already reported).
    pub unparsed_names: Vec<String>,
    pub warnings: Vec<Diagnostic>,
    /// `tasks_from` / `vars_from` / `defaults_from` / `handlers_from` of the role that
    /// `import_role` is about to expand (its dependencies use their main files).
    pub role_from: Option<crate::playbook::roles::RoleFrom>,
}

pub fn parse_playbook(path: &Path) -> Result<Playbook, Diagnostics> {
    let mut p = Parser::new(dir_of(path));
    let plays = p.playbook_file(
        path,
        &mut vec![(shown(path), canonical(path))],
        &Imported::default(),
    )?;
    if p.errors.is_empty() {
        Ok(Playbook {
            path: path.to_path_buf(),
            plays,
            warnings: p.warnings,
        })
    } else {
        Err(Diagnostics(p.errors))
    }
}

/// Parses a task file at run time (include_tasks). `inh` is the include task's: its nesting
/// says where the include is, and how deep.
pub fn parse_task_file(
    path: &Path,
    inh: &Inherited,
    play_dir: &Path,
) -> Result<Vec<Item>, Diagnostics> {
    let mut p = Parser::new(play_dir.to_path_buf());
    let items = p.task_file(path, inh, None, FileKind::Include);
    if p.errors.is_empty() {
        Ok(items)
    } else {
        Err(Diagnostics(p.errors))
    }
}

/// The directory of a file, "." for a bare file name.
pub fn dir_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// A path as messages show it: without a leading `./`.
fn shown(path: &Path) -> PathBuf {
    path.strip_prefix(".").unwrap_or(path).to_path_buf()
}

/// A path to compare files by: the same file reached as `a.yml` and `./x/../a.yml` is one.
fn canonical(path: &Path) -> PathBuf {
    path.canonicalize().unwrap_or_else(|_| path.to_path_buf())
}

/// `a.yml → b.yml → a.yml`: the files from the last time `next` was entered, or (no loop)
/// the outermost and innermost files of a long chain.
fn chain_text(files: &[(PathBuf, PathBuf)], next: &(PathBuf, PathBuf)) -> String {
    let from = files.iter().rposition(|(_, c)| *c == next.1);
    let mut parts: Vec<String> = match from {
        Some(i) => files[i..]
            .iter()
            .map(|(s, _)| s.display().to_string())
            .collect(),
        None if files.len() > 6 => files[..2]
            .iter()
            .map(|(s, _)| s.display().to_string())
            .chain(std::iter::once("…".to_string()))
            .chain(
                files[files.len() - 3..]
                    .iter()
                    .map(|(s, _)| s.display().to_string()),
            )
            .collect(),
        None => files.iter().map(|(s, _)| s.display().to_string()).collect(),
    };
    parts.push(next.0.display().to_string());
    parts.join(" → ")
}

/// How a task file is brought in, for the nesting checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// import_tasks: static, so a loop never ends.
    Import,
    /// include_tasks, parsed at run time: it may recurse under a `when`, up to the limit.
    Include,
    /// A role's tasks or handlers.
    Role,
}

/// Keywords whose value is a boolean (or a template giving one).
const BOOL_KEYWORDS: &[&str] = &[
    "become",
    "ignore_errors",
    "ignore_unreachable",
    "check_mode",
    "diff",
    "no_log",
    "run_once",
    "any_errors_fatal",
    "delegate_facts",
    "gather_facts",
    "force_handlers",
];

/// Keywords whose value is a whole number (or a template giving one).
const INT_KEYWORDS: &[&str] = &["retries", "throttle", "timeout", "port"];

/// Keywords whose value is a number (or a template giving one).
const NUMBER_KEYWORDS: &[&str] = &["delay", "max_fail_percentage"];

/// Keywords whose value is one name (or a template giving one).
const NAME_KEYWORDS: &[&str] = &[
    "become_user",
    "become_method",
    "delegate_to",
    "remote_user",
    "connection",
    "strategy",
];

fn is_template_str(v: &Node) -> bool {
    v.as_str().is_some_and(crate::template::is_template)
}

/// A scalar as it appears in messages: `'many'`, or the kind of a collection.
fn describe(v: &Node) -> String {
    match &v.value {
        Yaml::Str(s) => format!("'{s}'"),
        Yaml::Seq(_) | Yaml::Map(_) => v.kind().to_string(),
        _ => format!("{} '{}'", v.kind(), v.scalar_text().unwrap_or_default()),
    }
}

fn hint_for(word: &str, list: &[&str]) -> String {
    match suggest(word, list.iter().copied()) {
        Some(s) => format!(" (did you mean '{s}'?)"),
        None => String::new(),
    }
}

pub fn to_string_list(v: &Node) -> Vec<String> {
    match &v.value {
        Yaml::Seq(s) => s.iter().filter_map(Node::scalar_text).collect(),
        Yaml::Null => vec![],
        _ => v
            .scalar_text()
            .map(|s| {
                s.split(',')
                    .map(|x| x.trim().to_string())
                    .filter(|x| !x.is_empty())
                    .collect()
            })
            .unwrap_or_default(),
    }
}

fn cond_list(v: &Node) -> Vec<Value> {
    match &v.value {
        Yaml::Seq(s) => s.iter().map(Node::to_json).collect(),
        Yaml::Null => vec![],
        _ => vec![v.to_json()],
    }
}

const IMPORT_KEYS: &[&str] = &[
    "import_playbook",
    "ansible.builtin.import_playbook",
    "ansible.legacy.import_playbook",
];

/// What an import_playbook entry gives the plays it imports: its conditions and tags (as
/// every task of those plays inherits them) and its vars (under each play's own).
#[derive(Default)]
struct Imported {
    inh: Inherited,
    vars: Map<String, Value>,
}

impl Parser {
    pub fn new(play_dir: PathBuf) -> Parser {
        Parser {
            errors: vec![],
            role_handlers: vec![],
            roles_seen: vec![],
            play_roles: vec![],
            play_dir,
            unparsed_names: vec![],
            warnings: vec![],
            role_from: None,
        }
    }

    pub fn err(&mut self, d: Diagnostic) {
        self.errors.push(d);
    }

    /// `chain`: the playbooks importing this one, itself last (as shown, canonical).
    /// `outer`: what the import_playbook entries leading here give each of its plays.
    fn playbook_file(
        &mut self,
        path: &Path,
        chain: &mut Vec<(PathBuf, PathBuf)>,
        outer: &Imported,
    ) -> Result<Vec<Play>, Diagnostics> {
        let (_, root) = load_single_file(path, "a playbook")?;
        let Some(root) = root else {
            return Err(Diagnostic::plain(format!(
                "{} is empty: a playbook is a list of plays",
                path.display()
            ))
            .into());
        };
        let kind = root.kind();
        let entries = match root.value {
            Yaml::Seq(entries) => entries,
            _ => {
                return Err(Diagnostic::at(
                    &root.pos,
                    format!("a playbook must be a list of plays, not {kind}"),
                )
                .help("start each play with '- hosts: ...'")
                .into())
            }
        };
        let dir = dir_of(path);
        let mut plays = vec![];
        // Each play's YAML is given up to it: its task lists are dropped as they are parsed.
        for mut e in entries {
            let e = &mut e;
            let imp = IMPORT_KEYS.iter().find_map(|k| e.get(k));
            if let Some(imp) = imp {
                let Some(name) = imp.as_str() else {
                    self.err(Diagnostic::at(
                        &imp.pos,
                        "import_playbook needs a file name",
                    ));
                    continue;
                };
                let target = dir.join(name);
                let next = (shown(&target), canonical(&target));
                if chain.iter().any(|(_, c)| *c == next.1) {
                    self.err(
                        Diagnostic::at(
                            &imp.pos,
                            format!("import_playbook loop: {}", chain_text(chain, &next)),
                        )
                        .help("a playbook can't import itself, directly or through others; remove this import_playbook"),
                    );
                    continue;
                }
                if !target.is_file() {
                    self.err(Diagnostic::at(
                        &imp.pos,
                        format!("imported playbook {} does not exist", target.display()),
                    ));
                    continue;
                }
                let inner = self.imported(e, outer);
                chain.push(next);
                match self.playbook_file(&target, chain, &inner) {
                    Ok(mut p) => plays.append(&mut p),
                    Err(d) => self.errors.extend(d.0),
                }
                chain.pop();
                continue;
            }
            if let Some(p) = self.play(e, &dir, outer) {
                plays.push(p);
            }
        }
        Ok(plays)
    }

    fn check_keys(&mut self, node: &Node, allowed: &[&str], what: &str) {
        for (k, _) in node.as_map().unwrap_or(&[]) {
            let key = k.scalar_text().unwrap_or_default();
            if !allowed.contains(&key.as_str()) {
                let hint = hint_for(&key, allowed);
                // Ansible's words for a play's and a block's.
                let msg = match what {
                    "play" => format!("'{key}' is not a valid attribute for a Play{hint}"),
                    "block" => format!("'{key}' is not a valid attribute for a Block{hint}"),
                    _ => format!("unknown {what} keyword '{key}'{hint}"),
                };
                self.err(
                    Diagnostic::at(&k.pos, msg)
                        .help(format!("{what} keywords: {}", allowed.join(", "))),
                );
            }
        }
    }

    fn inherit(&mut self, node: &Node, base: &Inherited) -> Inherited {
        self.inherit_except(node, base, &[])
    }

    /// `inherit`, ignoring the keywords in `skip` (a play's own vars, kept apart).
    pub(crate) fn inherit_except(
        &mut self,
        node: &Node,
        base: &Inherited,
        skip: &[&str],
    ) -> Inherited {
        let mut inh = base.clone();
        let bool_or_tpl = |n: &Node| Some(n.to_json());
        for (k, v) in node.as_map().unwrap_or(&[]) {
            let key = k.as_str().unwrap_or("");
            if skip.contains(&key) {
                continue;
            }
            match key {
                "when" => {
                    let c = self.conds(v, "when");
                    inh.when.extend(c);
                }
                "tags" => inh.tags.extend(to_string_list(v)),
                "become" => inh.become_.become_ = bool_or_tpl(v),
                "become_user" => inh.become_.user = v.scalar_text(),
                "become_method" => inh.become_.method = v.scalar_text(),
                "vars" => match v.to_json() {
                    Value::Object(m) => crate::inventory::merge(&mut inh.vars, &m),
                    Value::Null => {}
                    _ => self.err(Diagnostic::at(
                        &v.pos,
                        format!("'vars' must be a mapping, not {}", v.kind()),
                    )),
                },
                "environment" => inh.environment.push(v.to_json()),
                "ignore_errors" => inh.ignore_errors = bool_or_tpl(v),
                "check_mode" => inh.check_mode = bool_or_tpl(v),
                "diff" => inh.diff = bool_or_tpl(v),
                "no_log" => inh.no_log = bool_or_tpl(v),
                "delegate_to" => inh.delegate_to = v.scalar_text(),
                "run_once" => inh.run_once = bool_or_tpl(v),
                "any_errors_fatal" => {
                    inh.any_errors_fatal = timonel_modules::spec::to_bool(&v.to_json())
                }
                "notify" => inh.notify = to_string_list(v),
                _ => {}
            }
        }
        inh
    }

    /// The keywords of an import_playbook entry (`when`, `tags`, `vars`), added to `outer`'s.
    fn imported(&mut self, entry: &Node, outer: &Imported) -> Imported {
        let mut allowed = IMPORT_KEYS.to_vec();
        allowed.extend(["name", "when", "tags", "vars"]);
        self.check_keys(entry, &allowed, "import_playbook");
        let mut vars = outer.vars.clone();
        match entry.get("vars").map(Node::to_json) {
            Some(Value::Object(m)) => crate::inventory::merge(&mut vars, &m),
            Some(Value::Null) | None => {}
            Some(_) => self.err(Diagnostic::at(
                &entry.get("vars").expect("present").pos,
                "import_playbook 'vars' must be a mapping",
            )),
        }
        let only = strip_keys(entry, &["vars", "name"]);
        let only = strip_keys(&only, IMPORT_KEYS);
        Imported {
            inh: self.inherit(&only, &outer.inh),
            vars,
        }
    }

    fn play(&mut self, node: &mut Node, dir: &Path, outer: &Imported) -> Option<Play> {
        if node.as_map().is_none() {
            self.err(Diagnostic::at(
                &node.pos,
                format!("a play must be a mapping, not {}", node.kind()),
            ));
            return None;
        }
        self.check_keys(node, keywords::PLAY, "play");
        self.check_types(node);
        self.role_handlers.clear();
        self.roles_seen.clear();
        self.play_roles.clear();
        self.unparsed_names.clear();
        self.play_dir = dir.to_path_buf();
        let hosts = match node.get("hosts") {
            Some(h) => match &h.value {
                Yaml::Seq(s) => s
                    .iter()
                    .filter_map(Node::scalar_text)
                    .collect::<Vec<_>>()
                    .join(","),
                _ => h.scalar_text().unwrap_or_default(),
            },
            None => {
                self.err(
                    Diagnostic::at(&node.pos, "this play has no 'hosts'")
                        .help("add 'hosts: all' (or a group or host pattern)"),
                );
                String::new()
            }
        };
        let mut inh = outer.inh.clone();
        for k in ["when", "vars", "delegate_to"] {
            if let Some(v) = node.get(k).filter(|_| k == "when") {
                self.err(
                    Diagnostic::at(&v.pos, "'when' is not a play keyword")
                        .help("put the condition on the tasks or a block"),
                );
            }
        }
        // Not a copy of the play without its vars: that copied every task's YAML.
        inh = self.inherit_except(node, &inh, &["vars"]);
        // The import's vars first; the play's own win.
        let vars = match node.get("vars").map(Node::to_json) {
            Some(Value::Object(m)) => {
                let mut v = outer.vars.clone();
                crate::inventory::merge(&mut v, &m);
                v
            }
            Some(Value::Null) | None => outer.vars.clone(),
            Some(_) => {
                self.err(Diagnostic::at(
                    &node.get("vars").expect("present").pos,
                    "play 'vars' must be a mapping",
                ));
                Map::new()
            }
        };
        let vars_files = match node.get("vars_files").map(Node::to_json) {
            Some(Value::Array(a)) => a,
            Some(Value::String(s)) => vec![Value::String(s)],
            _ => vec![],
        };
        let mut sections = vec![];
        sections.push(self.items_of(node, "pre_tasks", &inh, dir));
        let mut role_items = vec![];
        if let Some(r) = node.get("roles") {
            match r.as_seq() {
                Some(list) => {
                    for entry in list {
                        role_items.extend(self.role_entry(entry, &inh, &mut vec![], None, &[]).0);
                    }
                }
                None if r.is_null() => {}
                None => self.err(Diagnostic::at(&r.pos, "'roles' must be a list")),
            }
        }
        sections.push(role_items);
        sections.push(self.items_of(node, "tasks", &inh, dir));
        sections.push(self.items_of(node, "post_tasks", &inh, dir));
        let mut handlers = vec![];
        flatten_tasks(&self.items_of(node, "handlers", &inh, dir), &mut handlers);
        handlers.append(&mut self.role_handlers);
        self.check_notify(&sections, &handlers);
        let gather = node
            .get("gather_facts")
            .map(|g| timonel_modules::spec::to_bool(&g.to_json()).unwrap_or(true));
        let serial = match node.get("serial").map(Node::to_json) {
            Some(Value::Array(a)) => a,
            Some(Value::Null) | None => vec![],
            Some(v) => vec![v],
        };
        let name = node
            .get("name")
            .and_then(Node::scalar_text)
            .unwrap_or_else(|| hosts.clone());
        Some(Play {
            name,
            hosts,
            pos: node.pos.clone(),
            vars,
            vars_files,
            gather_facts: gather,
            serial,
            order: node.get("order").and_then(Node::scalar_text),
            strategy: node
                .get("strategy")
                .and_then(Node::scalar_text)
                .unwrap_or_else(|| "linear".into()),
            any_errors_fatal: node
                .get("any_errors_fatal")
                .and_then(|v| timonel_modules::spec::to_bool(&v.to_json()))
                .unwrap_or(false),
            max_fail_percentage: node
                .get("max_fail_percentage")
                .and_then(|v| v.to_json().as_f64()),
            force_handlers: node
                .get("force_handlers")
                .and_then(|v| timonel_modules::spec::to_bool(&v.to_json()))
                .unwrap_or(false),
            sections,
            handlers,
            roles: self.play_roles.clone(),
            dir: dir.to_path_buf(),
            inh,
        })
    }

    /// A notify that names no handler is a typo Ansible only reports when the task changes;
    /// here it is found before anything runs.
    fn check_notify(&mut self, sections: &[Vec<Item>], handlers: &[Arc<Task>]) {
        let mut tasks = vec![];
        for s in sections {
            flatten_tasks(s, &mut tasks);
        }
        tasks.extend(handlers.iter().cloned());
        let names: Vec<String> = handlers
            .iter()
            .flat_map(|h| {
                h.name
                    .iter()
                    .cloned()
                    .chain(std::iter::once(h.display_name()))
                    .chain(h.listen.iter().cloned())
            })
            .collect();
        for t in tasks {
            for n in t.notify.iter().filter(|n| !n.contains("{{")) {
                if !names.contains(n) && !self.unparsed_names.contains(n) {
                    let hint = suggest(n, names.iter().map(String::as_str))
                        .map(|s| format!(" (did you mean '{s}'?)"))
                        .unwrap_or_default();
                    self.err(
                        Diagnostic::at(&t.pos, format!("this task notifies '{n}', but no handler has that name or listens to it{hint}"))
                            .help("handlers are matched by their name or a 'listen' topic"),
                    );
                }
            }
        }
    }
}

pub fn flatten_tasks(items: &[Item], out: &mut Vec<Arc<Task>>) {
    for i in items {
        match i {
            Item::Task(t) => out.push(t.clone()),
            Item::Block(b) => {
                flatten_tasks(&b.block, out);
                flatten_tasks(&b.rescue, out);
                flatten_tasks(&b.always, out);
            }
            Item::RoleEnd(_) => {}
        }
    }
}
