//! Task lists: the items of a play section or a task file, blocks, imports and includes.

use std::borrow::Cow;

use super::*;

impl Parser {
    /// The tasks under `key` of a play, taken out of it (see `items_owned`).
    pub(super) fn items_of(
        &mut self,
        node: &mut Node,
        key: &str,
        inh: &Inherited,
        dir: &Path,
    ) -> Vec<Item> {
        let taken = match &mut node.value {
            Yaml::Map(m) => m
                .iter_mut()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| {
                    let pos = v.pos.clone();
                    std::mem::replace(
                        v,
                        Node {
                            value: Yaml::Null,
                            pos,
                        },
                    )
                }),
            _ => None,
        };
        match taken {
            None => vec![],
            Some(v) if v.is_null() => vec![],
            Some(v) => match v.as_seq() {
                Some(_) => self.items_owned(v, inh, dir),
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
        let entries = list.as_seq().unwrap_or(&[]);
        self.items_from(entries.iter().map(Cow::Borrowed), inh, dir)
    }

    /// `items` of a list nothing reads again: each entry's YAML is dropped once parsed, so a
    /// large play never holds its tasks twice (as YAML and as tasks).
    pub fn items_owned(&mut self, list: Node, inh: &Inherited, dir: &Path) -> Vec<Item> {
        match list.value {
            Yaml::Seq(entries) => self.items_from(entries.into_iter().map(Cow::Owned), inh, dir),
            _ => vec![],
        }
    }

    fn items_from<'n>(
        &mut self,
        entries: impl Iterator<Item = Cow<'n, Node>>,
        inh: &Inherited,
        dir: &Path,
    ) -> Vec<Item> {
        let mut out = vec![];
        for entry in entries {
            let entry: &Node = &entry;
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
            let parsed = self.task(entry, inh, dir);
            if parsed.is_none() {
                // Already an error; a handler that failed to parse still has its name, so a
                // task notifying it gets no second, false "no handler" error.
                for k in ["name", "listen"] {
                    if let Some(v) = entry.get(k) {
                        self.unparsed_names.extend(to_string_list(v));
                    }
                }
            }
            if let Some(t) = parsed {
                let action = t.action.engine();
                if action == Some(EngineAction::ImportTasks) {
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
                if action == Some(EngineAction::ImportRole) {
                    let Some(name) = t
                        .args
                        .get("name")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                    else {
                        self.err(Diagnostic::at(&t.pos, "import_role needs 'name'"));
                        continue;
                    };
                    self.role_from = Some(crate::playbook::roles::RoleFrom::from_args(&t.args));
                    let (call, inh) =
                        crate::playbook::roles::RoleCall::from_task(&t, true, &Map::new());
                    out.extend(
                        self.expand_role(&name, call, &inh, &t.pos, &mut vec![], None)
                            .0,
                    );
                    continue;
                }
                let mut t = t;
                if action.is_some_and(EngineAction::is_include) {
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
}
