//! Turns YAML nodes into the playbook model, collecting every error with its position.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Map, Value};

use super::keywords;
use super::model::*;
use crate::diag::{Diagnostic, Diagnostics, Pos};
use crate::limits;
use crate::yaml::{load_single_file, Node, Yaml};
use modules::spec::suggest;

pub struct Parser {
    pub errors: Vec<Diagnostic>,
    /// Handlers contributed by roles of the play being parsed.
    pub role_handlers: Vec<Arc<Task>>,
    pub roles_seen: Vec<(String, String)>,
    pub play_roles: Vec<Arc<Role>>,
    pub play_dir: PathBuf,
}

pub fn parse_playbook(path: &Path) -> Result<Playbook, Diagnostics> {
    let mut p = Parser::new(dir_of(path));
    let plays = p.playbook_file(path, &mut vec![(shown(path), canonical(path))])?;
    if p.errors.is_empty() {
        Ok(Playbook {
            path: path.to_path_buf(),
            plays,
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

/// The meta actions ansible-core knows; the engine carries out the ones that matter here.
const META_ACTIONS: &[&str] = &[
    "flush_handlers",
    "refresh_inventory",
    "noop",
    "clear_facts",
    "clear_host_errors",
    "end_play",
    "end_host",
    "end_batch",
    "end_role",
    "reset_connection",
    "role_complete",
];

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

impl Parser {
    pub fn new(play_dir: PathBuf) -> Parser {
        Parser {
            errors: vec![],
            role_handlers: vec![],
            roles_seen: vec![],
            play_roles: vec![],
            play_dir,
        }
    }

    pub fn err(&mut self, d: Diagnostic) {
        self.errors.push(d);
    }

    /// `chain`: the playbooks importing this one, itself last (as shown, canonical).
    fn playbook_file(
        &mut self,
        path: &Path,
        chain: &mut Vec<(PathBuf, PathBuf)>,
    ) -> Result<Vec<Play>, Diagnostics> {
        let (_, root) = load_single_file(path, "a playbook")?;
        let Some(root) = root else {
            return Err(Diagnostic::plain(format!(
                "{} is empty: a playbook is a list of plays",
                path.display()
            ))
            .into());
        };
        let Some(entries) = root.as_seq() else {
            return Err(Diagnostic::at(
                &root.pos,
                format!("a playbook must be a list of plays, not {}", root.kind()),
            )
            .help("start each play with '- hosts: ...'")
            .into());
        };
        let dir = dir_of(path);
        let mut plays = vec![];
        for e in entries {
            if let Some(imp) = e.get("import_playbook") {
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
                chain.push(next);
                match self.playbook_file(&target, chain) {
                    Ok(mut p) => plays.append(&mut p),
                    Err(d) => self.errors.extend(d.0),
                }
                chain.pop();
                continue;
            }
            if let Some(p) = self.play(e, &dir) {
                plays.push(p);
            }
        }
        Ok(plays)
    }

    fn check_keys(&mut self, node: &Node, allowed: &[&str], what: &str) {
        for (k, _) in node.as_map().unwrap_or(&[]) {
            let key = k.scalar_text().unwrap_or_default();
            if !allowed.contains(&key.as_str()) {
                self.err(
                    Diagnostic::at(
                        &k.pos,
                        format!("unknown {what} keyword '{key}'{}", hint_for(&key, allowed)),
                    )
                    .help(format!("{what} keywords: {}", allowed.join(", "))),
                );
            }
        }
    }

    fn inherit(&mut self, node: &Node, base: &Inherited) -> Inherited {
        let mut inh = base.clone();
        let bool_or_tpl = |n: &Node| Some(n.to_json());
        for (k, v) in node.as_map().unwrap_or(&[]) {
            match k.as_str().unwrap_or("") {
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
                "any_errors_fatal" => inh.any_errors_fatal = modules::spec::to_bool(&v.to_json()),
                _ => {}
            }
        }
        inh
    }

    fn play(&mut self, node: &Node, dir: &Path) -> Option<Play> {
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
        let mut inh = Inherited::default();
        for k in ["when", "vars", "delegate_to"] {
            if let Some(v) = node.get(k).filter(|_| k == "when") {
                self.err(
                    Diagnostic::at(&v.pos, "'when' is not a play keyword")
                        .help("put the condition on the tasks or a block"),
                );
            }
        }
        let stripped = strip_keys(node, &["vars"]);
        inh = self.inherit(&stripped, &inh);
        let vars = match node.get("vars").map(Node::to_json) {
            Some(Value::Object(m)) => m,
            Some(Value::Null) | None => Map::new(),
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
                        role_items.extend(self.role_entry(entry, &inh, &mut vec![]));
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
            .map(|g| modules::spec::to_bool(&g.to_json()).unwrap_or(true))
            .unwrap_or(true);
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
            strategy: node
                .get("strategy")
                .and_then(Node::scalar_text)
                .unwrap_or_else(|| "linear".into()),
            any_errors_fatal: node
                .get("any_errors_fatal")
                .and_then(|v| modules::spec::to_bool(&v.to_json()))
                .unwrap_or(false),
            max_fail_percentage: node
                .get("max_fail_percentage")
                .and_then(|v| v.to_json().as_f64()),
            force_handlers: node
                .get("force_handlers")
                .and_then(|v| modules::spec::to_bool(&v.to_json()))
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
                if !names.contains(n) {
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

    fn items_of(&mut self, node: &Node, key: &str, inh: &Inherited, dir: &Path) -> Vec<Item> {
        match node.get(key) {
            None => vec![],
            Some(v) if v.is_null() => vec![],
            Some(v) => match v.as_seq() {
                Some(_) => self.items(v, inh, dir),
                None => {
                    self.err(
                        Diagnostic::at(
                            &v.pos,
                            format!("'{key}' must be a list of tasks, not {}", v.kind()),
                        )
                        .help("start each task with '- name: ...'"),
                    );
                    vec![]
                }
            },
        }
    }

    /// Parses a list of tasks and blocks. `dir` is where relative includes are resolved.
    pub fn items(&mut self, list: &Node, inh: &Inherited, dir: &Path) -> Vec<Item> {
        let mut out = vec![];
        for entry in list.as_seq().unwrap_or(&[]) {
            if entry.as_map().is_none() {
                self.err(Diagnostic::at(&entry.pos, format!("a task must be a mapping, not {}", entry.kind()))
                    .help("write a task as '- name: ...' followed by the module, e.g. 'copy:' with its arguments indented below"));
                continue;
            }
            if entry.get("block").is_some() {
                self.check_keys(entry, keywords::BLOCK, "block");
                self.check_types(entry);
                let mut b_inh = self.inherit(entry, inh);
                b_inh.nesting.depth += 1;
                if b_inh.nesting.depth > limits::NESTING.get() {
                    self.err(
                        Diagnostic::at(
                            &entry.pos,
                            format!(
                                "blocks nested too deeply: this block is {} levels deep (blocks, task files and roles count)",
                                b_inh.nesting.depth
                            ),
                        )
                        .help(limits::NESTING.explain()),
                    );
                    continue;
                }
                let sub = |p: &mut Parser, k: &str| match entry.get(k) {
                    Some(n) if n.as_seq().is_some() => p.items(n, &b_inh, dir),
                    Some(n) if n.is_null() => vec![],
                    Some(n) => {
                        p.err(Diagnostic::at(
                            &n.pos,
                            format!("'{k}' must be a list of tasks"),
                        ));
                        vec![]
                    }
                    None => vec![],
                };
                let block = sub(self, "block");
                let rescue = sub(self, "rescue");
                let always = sub(self, "always");
                out.push(Item::Block(Arc::new(Block {
                    block,
                    rescue,
                    always,
                })));
                continue;
            }
            if let Some(t) = self.task(entry, inh, dir) {
                let action = modules::registry::short_name(&t.action).to_string();
                if action == "import_tasks" {
                    let Some(file) = t
                        .args
                        .get("_raw_params")
                        .or_else(|| t.args.get("file"))
                        .and_then(Value::as_str)
                    else {
                        self.err(Diagnostic::at(&t.pos, "import_tasks needs a file name"));
                        continue;
                    };
                    if file.contains("{{") {
                        self.err(
                            Diagnostic::at(
                                &t.pos,
                                "import_tasks is static: its file name cannot use variables",
                            )
                            .help("use include_tasks for a file chosen at run time"),
                        );
                        continue;
                    }
                    let path = dir.join(file);
                    let mut imp_inh = t.inh.clone();
                    crate::inventory::merge(
                        &mut imp_inh.vars,
                        &t.args
                            .get("vars")
                            .and_then(Value::as_object)
                            .cloned()
                            .unwrap_or_default(),
                    );
                    out.extend(self.task_file(&path, &imp_inh, Some(&t.pos), FileKind::Import));
                    continue;
                }
                if action == "import_role" {
                    let Some(name) = t
                        .args
                        .get("name")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                    else {
                        self.err(Diagnostic::at(&t.pos, "import_role needs 'name'"));
                        continue;
                    };
                    out.extend(self.expand_role(&name, Map::new(), &t.inh, &t.pos, &mut vec![]));
                    continue;
                }
                let mut t = t;
                if action == "include_tasks" || action == "include_role" {
                    t.inh.nesting.via = Some(t.pos.clone());
                }
                out.push(Item::Task(Arc::new(t)));
            }
        }
        out
    }

    /// Parses a task file under `inh`, one level deeper. `at` is the statement that brings
    /// it in (import_tasks, a role entry); an include's is in `inh.nesting.via`.
    pub fn task_file(
        &mut self,
        path: &Path,
        inh: &Inherited,
        at: Option<&Pos>,
        kind: FileKind,
    ) -> Vec<Item> {
        let at = at.cloned().or_else(|| inh.nesting.via.clone());
        let located = |msg: String| match &at {
            Some(p) => Diagnostic::at(p, msg),
            None => Diagnostic::plain(msg),
        };
        if !path.is_file() {
            self.err(located(format!(
                "task file {} does not exist",
                path.display()
            )));
            return vec![];
        }
        let next = (shown(path), canonical(path));
        let files = &inh.nesting.files;
        if kind == FileKind::Import && files.iter().any(|(_, c)| *c == next.1) {
            self.err(
                located(format!("import_tasks loop: {}", chain_text(files, &next))).help(
                    "import_tasks is static, so a file that imports itself (directly or through others) never ends; remove the import, or use include_tasks with a `when:` that stops the recursion",
                ),
            );
            return vec![];
        }
        let depth = inh.nesting.depth + 1;
        if depth > limits::NESTING.get() {
            let what = match kind {
                FileKind::Include => "include_tasks",
                FileKind::Import => "import_tasks",
                FileKind::Role => "roles",
            };
            self.err(
                located(format!(
                    "{what} nested too deeply: {} would be {depth} levels deep: {}",
                    next.0.display(),
                    chain_text(files, &next)
                ))
                .help(format!(
                    "a file that includes itself needs a `when:` that ends the recursion; {}",
                    limits::NESTING.explain()
                )),
            );
            return vec![];
        }
        let mut inner = inh.clone();
        inner.nesting.depth = depth;
        inner.nesting.via = None;
        let mut chain = files.as_ref().clone();
        chain.push(next);
        inner.nesting.files = Arc::new(chain);
        match load_single_file(
            &inner.nesting.files.last().expect("just pushed").0,
            "a task file",
        ) {
            Ok((_, doc)) => match doc {
                None => vec![],
                Some(d) if d.is_null() => vec![],
                Some(d) if d.as_seq().is_some() => {
                    self.items(&d, &inner, path.parent().unwrap_or(Path::new(".")))
                }
                Some(d) => {
                    self.err(Diagnostic::at(
                        &d.pos,
                        format!("a task file must be a list of tasks, not {}", d.kind()),
                    ));
                    vec![]
                }
            },
            Err(e) => {
                self.err(e);
                vec![]
            }
        }
    }

    /// A `when` / `until` / `changed_when` / `failed_when` value: a condition or a list of
    /// them, each checked to compile now (a syntax error is never a false condition).
    pub(super) fn conds(&mut self, v: &Node, kw: &str) -> Vec<Value> {
        let items: Vec<&Node> = match &v.value {
            Yaml::Seq(s) => s.iter().collect(),
            _ => vec![v],
        };
        for n in items {
            match &n.value {
                Yaml::Str(text) => {
                    if let Err(e) = crate::template::check_condition(text) {
                        self.err(
                            Diagnostic::at(
                                &n.pos,
                                format!("syntax error in the '{kw}' condition '{}': {e}", text.trim()),
                            )
                            .help("a condition is a Jinja expression such as \"result.rc == 0\" or \"x is defined\", written without {{ }}"),
                        );
                    }
                }
                Yaml::Bool(_) | Yaml::Int(_) | Yaml::Float(_) | Yaml::Null => {}
                Yaml::Seq(_) | Yaml::Map(_) => self.err(
                    Diagnostic::at(
                        &n.pos,
                        format!(
                            "'{kw}' must be a condition or a list of conditions, not {}",
                            n.kind()
                        ),
                    )
                    .help(format!(
                        "write the condition as a string, e.g. {kw}: \"x == 1\""
                    )),
                ),
            }
        }
        cond_list(v)
    }

    /// Keywords with a type (booleans, numbers, names, tags) are checked before anything runs;
    /// a wrong type would otherwise be taken as false, or as nothing at all.
    fn check_types(&mut self, node: &Node) {
        for (k, v) in node.as_map().unwrap_or(&[]) {
            let key = k.scalar_text().unwrap_or_default();
            let key = key.as_str();
            if v.is_null() || is_template_str(v) {
                continue;
            }
            let bad = |want: &str, example: &str| {
                let help = if key == "register" {
                    format!("for example {key}: {example}")
                } else {
                    format!("for example {key}: {example}, or a template such as {key}: \"{{{{ my_var }}}}\"")
                };
                Diagnostic::at(
                    &v.pos,
                    format!("'{key}' must be {want}, not {}", describe(v)),
                )
                .help(help)
            };
            if BOOL_KEYWORDS.contains(&key) {
                if modules::spec::to_bool(&v.to_json()).is_none() {
                    self.err(bad("a boolean (true/false, yes/no)", "true"));
                }
            } else if INT_KEYWORDS.contains(&key) {
                let ok = match &v.value {
                    Yaml::Int(i) => *i >= 0,
                    Yaml::Str(s) => s.trim().parse::<u64>().is_ok(),
                    _ => false,
                };
                if !ok {
                    self.err(bad("a whole number", "3"));
                }
            } else if NUMBER_KEYWORDS.contains(&key) {
                let ok = match &v.value {
                    Yaml::Int(_) | Yaml::Float(_) => true,
                    Yaml::Str(s) => s.trim().parse::<f64>().is_ok(),
                    _ => false,
                };
                if !ok {
                    self.err(bad("a number", "5"));
                }
            } else if NAME_KEYWORDS.contains(&key) || key == "register" {
                if matches!(v.value, Yaml::Seq(_) | Yaml::Map(_)) {
                    self.err(bad("a name", "my_result"));
                }
            } else if key == "tags" || key == "notify" || key == "listen" {
                let items: Vec<&Node> = match &v.value {
                    Yaml::Seq(s) => s.iter().collect(),
                    _ => vec![v],
                };
                for n in items {
                    if matches!(n.value, Yaml::Seq(_) | Yaml::Map(_)) {
                        let one = if key == "tags" { "tag" } else { "name" };
                        self.err(
                            Diagnostic::at(
                                &n.pos,
                                format!(
                                    "'{key}' must be a {one} or a list of them, not {}",
                                    n.kind()
                                ),
                            )
                            .help(format!("for example {key}: [a, b]")),
                        );
                    }
                }
            }
        }
    }

    fn task(&mut self, node: &Node, inh: &Inherited, _dir: &Path) -> Option<Task> {
        let map = node.as_map()?;
        let mut action: Option<(String, &Node, Pos)> = None;
        let mut unknown = vec![];
        for (k, v) in map {
            let key = k.scalar_text().unwrap_or_default();
            if keywords::TASK.contains(&key.as_str()) {
                continue;
            }
            let known = modules::registry::find(&key).is_some() || keywords::is_engine_action(&key);
            if known && action.is_none() {
                action = Some((key, v, k.pos.clone()));
            } else {
                unknown.push((key, k.pos.clone()));
            }
        }
        // `action:` / `local_action:` name the module in their value.
        let mut args = Map::new();
        let mut local = false;
        if action.is_none() {
            for kw in ["action", "local_action"] {
                if let Some(v) = node.get(kw) {
                    local = kw == "local_action";
                    let (name, rest) = match &v.value {
                        Yaml::Str(s) => {
                            let mut parts = s.trim().splitn(2, char::is_whitespace);
                            (
                                parts.next().unwrap_or("").to_string(),
                                parts.next().unwrap_or("").to_string(),
                            )
                        }
                        Yaml::Map(_) => {
                            let m = v.to_json();
                            let mut m = m.as_object().cloned().unwrap_or_default();
                            let name = m
                                .remove("module")
                                .and_then(|x| x.as_str().map(str::to_string))
                                .unwrap_or_default();
                            args = m;
                            (name, String::new())
                        }
                        _ => (String::new(), String::new()),
                    };
                    if !rest.is_empty() {
                        match super::freeform::parse(
                            &rest,
                            modules::registry::find(&name).map(|m| m.spec()),
                        ) {
                            Ok(a) => args = a,
                            Err(e) => self.err(Diagnostic::at(&v.pos, e)),
                        }
                    }
                    action = Some((name, v, v.pos.clone()));
                }
            }
        }
        let all_names: Vec<&str> = modules::registry::all()
            .iter()
            .map(|m| m.spec().name)
            .chain(keywords::ENGINE_ACTIONS.iter().copied())
            .collect();
        if let Some((key, pos)) = unknown.first() {
            let in_kw = suggest(key, keywords::TASK.iter().copied());
            let in_mod = suggest(key, all_names.iter().copied());
            let (msg, help) = if action.is_some() {
                let h = in_kw
                    .map(|s| format!(" (did you mean '{s}'?)"))
                    .unwrap_or_default();
                (format!("unknown task keyword '{key}'{h}"), "a task has one module plus task keywords such as name, when, loop, register, notify".to_string())
            } else {
                let h = in_mod
                    .or(in_kw)
                    .map(|s| format!(" (did you mean '{s}'?)"))
                    .unwrap_or_default();
                (
                    format!("unknown module '{key}'{h}"),
                    "`timonel doc` lists the modules".to_string(),
                )
            };
            self.err(Diagnostic::at(pos, msg).help(help));
            return None;
        }
        let Some((name, value, apos)) = action else {
            self.err(
                Diagnostic::at(&node.pos, "this task has no module")
                    .help("add a module such as 'command:', 'copy:' or 'debug:' to the task"),
            );
            return None;
        };
        let module = modules::registry::find(&name);
        // The engine knows a module by its own name, whichever alias the playbook used.
        let short = module.map_or_else(
            || modules::registry::short_name(&name).to_string(),
            |m| m.spec().name.to_string(),
        );
        let errors_before = self.errors.len();
        if node.get("action").is_none() && node.get("local_action").is_none() {
            match &value.value {
                Yaml::Map(_) => args = value.to_json().as_object().cloned().unwrap_or_default(),
                Yaml::Null => {}
                Yaml::Str(s) => match super::freeform::parse(s, module.map(|m| m.spec())) {
                    Ok(a) if module.is_some() => args = a,
                    Ok(_) | Err(_) if module.is_none() => {
                        args.insert("_raw_params".into(), Value::String(s.clone()));
                    }
                    Ok(_) => {}
                    Err(e) => self.err(
                        Diagnostic::at(&value.pos, format!("{e} for module '{short}'"))
                            .help("write the arguments as a mapping below the module name"),
                    ),
                },
                _ if module.is_none() => {
                    args.insert("_raw_params".into(), value.to_json());
                }
                _ => self.err(Diagnostic::at(
                    &value.pos,
                    format!(
                        "arguments of '{short}' must be a mapping, not {}",
                        value.kind()
                    ),
                )),
            }
        }
        if let Some(extra) = node.get("args") {
            match extra.to_json() {
                Value::Object(m) => crate::inventory::merge(&mut args, &m),
                _ => self.err(Diagnostic::at(&extra.pos, "'args' must be a mapping")),
            }
        }
        // Arguments that could not even be split are not validated further.
        if let Some(m) = module.filter(|_| self.errors.len() == errors_before) {
            if let Err(errs) = m.spec().validate(&args, true) {
                for e in errs {
                    let pos = e
                        .arg
                        .as_ref()
                        .and_then(|a| {
                            value
                                .as_map()
                                .and_then(|m| {
                                    m.iter().find(|(k, _)| k.as_str() == Some(a.as_str()))
                                })
                                .map(|(k, _)| k.pos.clone())
                        })
                        .unwrap_or_else(|| apos.clone());
                    self.err(
                        Diagnostic::at(&pos, e.message)
                            .help(format!("`timonel doc {short}` lists its arguments")),
                    );
                }
            }
        }
        self.check_types(node);
        if short == "meta" {
            let what = args
                .get("_raw_params")
                .and_then(Value::as_str)
                .unwrap_or("")
                .trim()
                .to_string();
            if !META_ACTIONS.contains(&what.as_str()) {
                self.err(
                    Diagnostic::at(
                        &value.pos,
                        format!(
                            "unknown meta action '{what}'{}",
                            hint_for(&what, META_ACTIONS)
                        ),
                    )
                    .help(format!("meta actions: {}", META_ACTIONS.join(", "))),
                );
            }
        }
        let mut t_inh = self.inherit(&strip_keys(node, &[]), inh);
        if local {
            t_inh.delegate_to = Some("localhost".into());
        }
        let mut loop_ = None;
        let mut loop_kind = String::from("loop");
        for k in keywords::TASK
            .iter()
            .filter(|k| **k == "loop" || k.starts_with("with_"))
        {
            if let Some(v) = node.get(k) {
                if loop_.is_some() {
                    self.err(Diagnostic::at(
                        &v.pos,
                        "a task can have only one loop (loop or with_*)",
                    ));
                }
                loop_ = Some(v.to_json());
                loop_kind = k.to_string();
            }
        }
        let lc = node.get("loop_control");
        if let Some(l) = lc {
            if l.as_map().is_none() {
                self.err(Diagnostic::at(&l.pos, "'loop_control' must be a mapping"));
            } else {
                self.check_keys(l, keywords::LOOP_CONTROL, "loop_control");
            }
        }
        let lcv = |k: &str| lc.and_then(|l| l.get(k));
        let register = node.get("register").and_then(Node::scalar_text);
        if let Some(r) = &register {
            if !r.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                || r.starts_with(|c: char| c.is_ascii_digit())
            {
                self.err(Diagnostic::at(
                    &node.get("register").expect("present").pos,
                    format!("'{r}' is not a valid variable name for register"),
                ));
            }
        }
        Some(Task {
            name: node.get("name").and_then(Node::scalar_text),
            action: short,
            args,
            pos: node.pos.clone(),
            inh: t_inh,
            register,
            loop_,
            loop_kind,
            loop_var: lcv("loop_var")
                .and_then(Node::scalar_text)
                .unwrap_or_else(|| "item".into()),
            index_var: lcv("index_var").and_then(Node::scalar_text),
            loop_label: lcv("label").map(Node::to_json),
            loop_pause: lcv("pause").and_then(|p| p.to_json().as_f64()),
            changed_when: node
                .get("changed_when")
                .map(|v| self.conds(v, "changed_when")),
            failed_when: node
                .get("failed_when")
                .map(|v| self.conds(v, "failed_when")),
            until: node.get("until").map(|v| self.conds(v, "until")),
            retries: node.get("retries").map(Node::to_json),
            delay: node.get("delay").map(Node::to_json),
            notify: node.get("notify").map(to_string_list).unwrap_or_default(),
            listen: node.get("listen").map(to_string_list).unwrap_or_default(),
            ignore_unreachable: node
                .get("ignore_unreachable")
                .and_then(|v| modules::spec::to_bool(&v.to_json()))
                .unwrap_or(false),
            throttle: node
                .get("throttle")
                .and_then(|v| v.to_json().as_u64())
                .map(|n| n.max(1) as usize),
        })
    }
}

/// A copy of a mapping node without some keys.
fn strip_keys(node: &Node, keys: &[&str]) -> Node {
    match &node.value {
        Yaml::Map(m) => Node {
            value: Yaml::Map(
                m.iter()
                    .filter(|(k, _)| !keys.contains(&k.as_str().unwrap_or("")))
                    .cloned()
                    .collect(),
            ),
            pos: node.pos.clone(),
        },
        _ => node.clone(),
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
        }
    }
}
