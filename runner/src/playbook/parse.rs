//! Turns YAML nodes into the playbook model, collecting every error with its position.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Map, Value};

use super::keywords;
use super::model::*;
use crate::diag::{Diagnostic, Diagnostics, Pos};
use crate::yaml::{load_file, Node, Yaml};
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
    let plays = p.playbook_file(path, &mut vec![])?;
    if p.errors.is_empty() {
        Ok(Playbook {
            path: path.to_path_buf(),
            plays,
        })
    } else {
        Err(Diagnostics(p.errors))
    }
}

/// Parses a task file at run time (include_tasks).
pub fn parse_task_file(
    path: &Path,
    inh: &Inherited,
    play_dir: &Path,
) -> Result<Vec<Item>, Diagnostics> {
    let mut p = Parser::new(play_dir.to_path_buf());
    let items = p.task_file(path, inh, None);
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

    fn playbook_file(
        &mut self,
        path: &Path,
        chain: &mut Vec<PathBuf>,
    ) -> Result<Vec<Play>, Diagnostics> {
        let (_, docs) = load_file(path)?;
        let Some(root) = docs.into_iter().next() else {
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
                if chain.contains(&target) {
                    self.err(Diagnostic::at(
                        &imp.pos,
                        format!("import_playbook loop: {} imports itself", target.display()),
                    ));
                    continue;
                }
                if !target.is_file() {
                    self.err(Diagnostic::at(
                        &imp.pos,
                        format!("imported playbook {} does not exist", target.display()),
                    ));
                    continue;
                }
                chain.push(target.clone());
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
                "when" => inh.when.extend(cond_list(v)),
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
                let b_inh = self.inherit(entry, inh);
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
                    out.extend(self.task_file(&path, &imp_inh, Some(&t.pos)));
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
                out.push(Item::Task(Arc::new(t)));
            }
        }
        out
    }

    pub fn task_file(&mut self, path: &Path, inh: &Inherited, at: Option<&Pos>) -> Vec<Item> {
        if !path.is_file() {
            let msg = format!("task file {} does not exist", path.display());
            self.err(match at {
                Some(p) => Diagnostic::at(p, msg),
                None => Diagnostic::plain(msg),
            });
            return vec![];
        }
        match load_file(path) {
            Ok((_, docs)) => match docs.first() {
                None => vec![],
                Some(d) if d.is_null() => vec![],
                Some(d) if d.as_seq().is_some() => {
                    self.items(d, inh, path.parent().unwrap_or(Path::new(".")))
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
            changed_when: node.get("changed_when").map(cond_list),
            failed_when: node.get("failed_when").map(cond_list),
            until: node.get("until").map(cond_list),
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
