//! One task: its keywords checked by type, its conditions compiled, its action and arguments.

use super::*;

impl Parser {
    /// A `when` / `until` / `changed_when` / `failed_when` value: a condition or a list of
    /// them, each checked to compile now (a syntax error is never a false condition).
    pub(crate) fn conds(&mut self, v: &Node, kw: &str) -> Vec<Value> {
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
    pub(super) fn check_types(&mut self, node: &Node) {
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
                if timonel_modules::spec::to_bool(&v.to_json()).is_none() {
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

    pub(super) fn task(&mut self, node: &Node, inh: &Inherited, _dir: &Path) -> Option<Task> {
        let map = node.as_map()?;
        let mut action: Option<(String, &Node, Pos)> = None;
        let mut unknown = vec![];
        for (k, v) in map {
            let key = k.scalar_text().unwrap_or_default();
            if keywords::TASK.contains(&key.as_str()) {
                continue;
            }
            let known = Action::resolve(&key).is_some();
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
                        match crate::playbook::freeform::parse(&rest, spec_of(&name)) {
                            Ok(a) => args = a,
                            Err(e) => self.err(Diagnostic::at(&v.pos, e)),
                        }
                    }
                    action = Some((name, v, v.pos.clone()));
                }
            }
        }
        let all_names: Vec<&str> = timonel_modules::registry::all()
            .iter()
            .map(|m| m.spec().name)
            .chain(EngineAction::names())
            .chain(timonel_modules::known::all().iter().map(|s| s.name))
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
        // Resolved once: the engine never looks the name up again.
        let mut action = Action::resolve(&name).unwrap_or_else(|| Action::Unknown(name.clone()));
        // A module timonel has, or one it knows (its arguments are checked now; it fails
        // only if it runs).
        let module = action.spec();
        // The engine knows a module by its own name, whichever alias the playbook used.
        let short = action.name().to_string();
        if action.engine() == Some(EngineAction::Include) {
            // ansible-core rejects it when it loads the playbook, so do we.
            self.err(
                Diagnostic::at(
                    &apos,
                    "the 'include' action was removed from Ansible (in ansible-core 2.16)",
                )
                .help("use include_tasks (chosen at run time) or import_tasks (static) instead"),
            );
            return None;
        }
        let errors_before = self.errors.len();
        if node.get("action").is_none() && node.get("local_action").is_none() {
            match &value.value {
                Yaml::Map(_) => args = value.to_json().as_object().cloned().unwrap_or_default(),
                Yaml::Null => {}
                // `add_host: "{{ data }}"`: the arguments are what the template renders to.
                Yaml::Str(s)
                    if module.is_some_and(|m| m.free_form.is_none())
                        && crate::playbook::freeform::is_whole_template(s) =>
                {
                    args.insert(
                        crate::playbook::freeform::ARGS_TEMPLATE.into(),
                        Value::String(s.clone()),
                    );
                }
                Yaml::Str(s) => match crate::playbook::freeform::parse(s, module) {
                    Ok(a) if module.is_some() => args = a,
                    // `import_role: name=x tasks_from=y`: the role actions take k=v too.
                    Ok(a) if matches!(short.as_str(), "import_role" | "include_role") => args = a,
                    Ok(_) | Err(_) if module.is_none() => {
                        args.insert("_raw_params".into(), Value::String(s.clone()));
                    }
                    Ok(_) => {}
                    // Ansible fails such a task only when it runs: warn now, and keep the
                    // text, so that running the task reports it.
                    Err(e) if module.is_some_and(|m| m.free_form.is_none()) => {
                        self.warnings.push(
                            Diagnostic::at(&value.pos, format!("{e} for module '{short}'"))
                                .warning()
                                .help("write the arguments as a mapping below the module name; this task fails if it runs"),
                        );
                        args.insert(
                            crate::playbook::freeform::ARGS_TEMPLATE.into(),
                            Value::String(s.clone()),
                        );
                    }
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
        // Under a condition, a wrong combination of arguments (one missing, two exclusive) is
        // what Ansible reports only if the task runs: warn now, fail then (the run-time check).
        let conditional = !inh.when.is_empty() || node.get("when").is_some();
        let whole_template = args.contains_key(crate::playbook::freeform::ARGS_TEMPLATE);
        if let Some(m) = module.filter(|_| self.errors.len() == errors_before && !whole_template) {
            if let Err(errs) = m.validate(&args, true) {
                for e in errs {
                    if conditional && e.arg.is_none() {
                        self.warnings.push(
                            Diagnostic::at(&apos, e.message)
                                .warning()
                                .help("this task runs only under a condition; if it runs, it fails with this error"),
                        );
                        continue;
                    }
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
        if let Action::Engine(EngineAction::Meta(meta)) = &mut action {
            let what = args
                .get("_raw_params")
                .and_then(Value::as_str)
                .unwrap_or("")
                .trim()
                .to_string();
            if let Some(m) = Meta::from_name(&what) {
                *meta = m;
            } else {
                let names: Vec<&str> = Meta::ALL.iter().map(|m| m.name()).collect();
                self.err(
                    Diagnostic::at(
                        &value.pos,
                        format!("unknown meta action '{what}'{}", hint_for(&what, &names)),
                    )
                    .help(format!("meta actions: {}", names.join(", "))),
                );
            }
        }
        let mut t_inh = self.inherit(node, inh);
        // An include's own `vars:` are include params: above set_fact, for the include and
        // everything it brings in (Ansible's get_include_params).
        if action.engine().is_some_and(EngineAction::is_include) {
            if let Some(Value::Object(own)) = node.get("vars").map(Node::to_json) {
                crate::inventory::merge(&mut t_inh.include_params, &own);
            }
        }
        // What an include's `apply:` adds for the tasks it brings in.
        let apply = action
            .engine()
            .filter(|a| a.is_include())
            .and_then(|_| {
                value
                    .get("apply")
                    .or_else(|| node.get("args").and_then(|a| a.get("apply")))
            })
            .filter(|a| a.as_map().is_some())
            .map(|a| Box::new(self.inherit(a, &t_inh)));
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
            if !crate::playbook::valid_variable_name(r) {
                let at = node.get("register").expect("present");
                self.err(
                    Diagnostic::at(
                        &at.pos,
                        format!(
                            "Invalid 'register' specified: {}",
                            crate::playbook::invalid_variable_name(&at.to_json())
                        ),
                    )
                    .help("variable names must be strings starting with a letter or underscore character, and contain only letters, numbers and underscores"),
                );
            }
        }
        Some(Task {
            name: node.get("name").and_then(Node::scalar_text),
            action,
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
            loop_extended: lcv("extended").map(Node::to_json),
            loop_extended_allitems: lcv("extended_allitems").map(Node::to_json),
            break_when: lcv("break_when")
                .map(|v| self.conds(v, "break_when"))
                .unwrap_or_default(),
            changed_when: node
                .get("changed_when")
                .map(|v| self.conds(v, "changed_when")),
            failed_when: node
                .get("failed_when")
                .map(|v| self.conds(v, "failed_when")),
            until: node.get("until").map(|v| self.conds(v, "until")),
            retries: node.get("retries").map(Node::to_json),
            delay: node.get("delay").map(Node::to_json),
            // A task's own notify, else its block's or import's (as Ansible inherits it).
            notify: node
                .get("notify")
                .map(to_string_list)
                .unwrap_or_else(|| inh.notify.clone()),
            listen: node.get("listen").map(to_string_list).unwrap_or_default(),
            ignore_unreachable: node
                .get("ignore_unreachable")
                .and_then(|v| timonel_modules::spec::to_bool(&v.to_json()))
                .unwrap_or(false),
            throttle: node
                .get("throttle")
                .and_then(|v| v.to_json().as_u64())
                .map(|n| n.max(1) as usize),
            apply,
        })
    }
}

/// The argument spec of a module timonel implements, or of one it only knows.
fn spec_of(name: &str) -> Option<&'static timonel_modules::ModuleSpec> {
    Action::resolve(name).and_then(|a| a.spec())
}

/// A copy of a mapping node without some keys.
pub(super) fn strip_keys(node: &Node, keys: &[&str]) -> Node {
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
