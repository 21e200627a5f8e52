//! The case file format (see cases.rs): reading a case into the kit's script and expectations.

use serde_json::{Map, Value};
use timonel_modules::invoke::Mode;
use timonel_modules::testkit::{
    Expect, FakeController, FakeFile, FileOp, Matcher, Reply, ScriptedConnection,
};

pub struct Case {
    pub module: String,
    pub args: Value,
    pub modes: Vec<Mode>,
    pub diff: bool,
    pub files: Map<String, Value>,
    pub vars: Map<String, Value>,
    pub hostname: Option<String>,
    pub always: Vec<Value>,
    pub commands: Vec<Value>,
    pub apply_commands: Vec<Value>,
    pub check_commands: Vec<Value>,
    pub expect: Map<String, Value>,
    pub check: Map<String, Value>,
    pub apply: Map<String, Value>,
}

pub fn obj(v: Option<&Value>, what: &str) -> Result<Map<String, Value>, String> {
    match v {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(o)) => Ok(o.clone()),
        Some(other) => Err(format!("'{what}' must be a mapping, not {other}")),
    }
}

pub fn list(v: Option<&Value>, what: &str) -> Result<Vec<Value>, String> {
    match v {
        None | Some(Value::Null) => Ok(vec![]),
        Some(Value::Array(a)) => Ok(a.clone()),
        Some(other) => Err(format!("'{what}' must be a list, not {other}")),
    }
}

pub fn only_keys(m: &Map<String, Value>, allowed: &[&str], what: &str) -> Result<(), String> {
    for k in m.keys() {
        if !allowed.contains(&k.as_str()) {
            return Err(format!(
                "unknown key '{k}' in {what} (known: {})",
                allowed.join(", ")
            ));
        }
    }
    Ok(())
}

const EXPECT_KEYS: &[&str] = &[
    "plan",
    "error",
    "changed",
    "failed",
    "skipped",
    "msg",
    "data",
    "diff",
    "controller_files",
];

impl Case {
    pub fn parse(dir_module: &str, doc: Value) -> Result<Case, String> {
        let Value::Object(d) = doc else {
            return Err("a case file is a mapping".into());
        };
        only_keys(
            &d,
            &[
                "description",
                "module",
                "args",
                "modes",
                "diff",
                "controller",
                "always",
                "commands",
                "apply_commands",
                "check_commands",
                "expect",
                "check",
                "apply",
            ],
            "the case",
        )?;
        let module = d
            .get("module")
            .and_then(Value::as_str)
            .unwrap_or(dir_module)
            .to_string();
        if timonel_modules::registry::find(&module).is_none() {
            return Err(format!("no module named '{module}'"));
        }
        let modes = match d.get("modes") {
            None => vec![Mode::Check, Mode::Apply],
            Some(v) => list(Some(v), "modes")?
                .iter()
                .map(|m| match m.as_str() {
                    Some("check") => Ok(Mode::Check),
                    Some("apply") => Ok(Mode::Apply),
                    _ => Err(format!("modes: '{m}' is not check or apply")),
                })
                .collect::<Result<_, _>>()?,
        };
        let controller = obj(d.get("controller"), "controller")?;
        only_keys(&controller, &["files", "vars", "hostname"], "controller")?;
        let expect = obj(d.get("expect"), "expect")?;
        let check = obj(d.get("check"), "check")?;
        let apply = obj(d.get("apply"), "apply")?;
        only_keys(&expect, EXPECT_KEYS, "expect")?;
        only_keys(&check, &EXPECT_KEYS[1..], "check")?;
        only_keys(&apply, &EXPECT_KEYS[1..], "apply")?;
        Ok(Case {
            module,
            args: d.get("args").cloned().unwrap_or(Value::Object(Map::new())),
            modes,
            diff: d
                .get("diff")
                .map(|v| v == &Value::Bool(true))
                .unwrap_or(true),
            files: obj(controller.get("files"), "controller.files")?,
            vars: obj(controller.get("vars"), "controller.vars")?,
            hostname: controller
                .get("hostname")
                .and_then(Value::as_str)
                .map(str::to_string),
            always: list(d.get("always"), "always")?,
            commands: list(d.get("commands"), "commands")?,
            apply_commands: list(d.get("apply_commands"), "apply_commands")?,
            check_commands: list(d.get("check_commands"), "check_commands")?,
            expect,
            check,
            apply,
        })
    }

    pub fn controller(&self) -> FakeController {
        let mut c = FakeController::new();
        for (name, content) in &self.files {
            c = c.file(name, content.as_str().unwrap_or_default());
        }
        for (k, v) in &self.vars {
            c = c.var(k, v.clone());
        }
        if let Some(h) = &self.hostname {
            c = c.hostname(h);
        }
        c
    }

    /// A host scripted with the plan's commands, then `more`.
    pub fn host(&self, more: &[Value]) -> Result<ScriptedConnection, String> {
        let mut conn = ScriptedConnection::new();
        for (i, v) in self.always.iter().enumerate() {
            let e = expectation(v).map_err(|e| format!("always[{i}]: {e}"))?;
            conn = conn.always(e.matcher, e.reply);
        }
        for (what, cmds) in [("commands", &self.commands), ("more", &more.to_vec())] {
            for (i, v) in cmds.iter().enumerate() {
                conn = conn.push(expectation(v).map_err(|e| format!("{what}[{i}]: {e}"))?);
            }
        }
        Ok(conn)
    }
}

pub fn substitute(v: &Value, dir: &str) -> Value {
    match v {
        Value::String(s) => Value::String(s.replace("$CONTROLLER_DIR", dir)),
        Value::Array(a) => Value::Array(a.iter().map(|x| substitute(x, dir)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| (k.clone(), substitute(x, dir)))
                .collect(),
        ),
        other => other.clone(),
    }
}

pub fn strings(v: &Value) -> Result<Vec<String>, String> {
    match v {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(a) => a
            .iter()
            .map(|x| {
                x.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| format!("{x} is not a string"))
            })
            .collect(),
        other => Err(format!("{other} is not a string or a list of strings")),
    }
}

pub fn text_matcher(v: &Value) -> Result<Matcher, String> {
    match v {
        Value::String(s) => Ok(Matcher::exact(s.clone())),
        Value::Object(o) => {
            only_keys(o, &["contains", "regex"], "stdin")?;
            if let Some(c) = o.get("contains") {
                Ok(Matcher::contains_all(strings(c)?))
            } else if let Some(r) = o.get("regex").and_then(Value::as_str) {
                regex::Regex::new(r)
                    .map(Matcher::Regex)
                    .map_err(|e| e.to_string())
            } else {
                Err("stdin needs contains or regex".into())
            }
        }
        other => Err(format!("stdin must be a string or a mapping, not {other}")),
    }
}

pub fn fake_file(v: &Value) -> Result<FakeFile, String> {
    match v {
        Value::String(s) if s == "absent" => Ok(FakeFile::absent()),
        Value::String(s) if s == "directory" => Ok(FakeFile::directory()),
        Value::Object(o) => {
            only_keys(
                o,
                &[
                    "type", "content", "mode", "owner", "group", "uid", "gid", "target", "mtime",
                ],
                "file",
            )?;
            let s = |k: &str| o.get(k).and_then(Value::as_str);
            let mut f = match s("type").unwrap_or("file") {
                "file" => FakeFile::file(s("content").unwrap_or_default()),
                "directory" => FakeFile::directory(),
                "link" => FakeFile::link(s("target").unwrap_or_default()),
                "absent" => FakeFile::absent(),
                t => return Err(format!("file type '{t}' is not file, directory or link")),
            };
            if let Some(t) = s("target") {
                f = f.via_link(t);
            }
            if let Some(m) = o.get("mode") {
                let m = m
                    .as_str()
                    .ok_or("file mode must be a quoted string like \"0644\"")?;
                f.mode = u32::from_str_radix(m, 8).map_err(|e| format!("mode {m}: {e}"))?;
            }
            let num = |k: &str| o.get(k).and_then(Value::as_u64).map(|n| n as u32);
            if let Some(n) = s("owner") {
                f.owner = n.into();
            }
            if let Some(n) = s("group") {
                f.group = n.into();
            }
            if let Some(n) = num("uid") {
                f.uid = n;
            }
            if let Some(n) = num("gid") {
                f.gid = n;
            }
            if let Some(n) = o.get("mtime").and_then(Value::as_i64) {
                f.mtime = n;
            }
            Ok(f)
        }
        other => Err(format!(
            "file must be absent, directory or a mapping, not {other}"
        )),
    }
}

/// One command of a case: its matcher, stdin check and answer.
pub fn expectation(v: &Value) -> Result<Expect, String> {
    let Value::Object(o) = v else {
        return Err(format!("a command is a mapping, not {v}"));
    };
    only_keys(
        o,
        &[
            "cmd",
            "contains",
            "regex",
            "stat",
            "read_stat",
            "read",
            "write",
            "follow",
            "file",
            "stdout",
            "stderr",
            "rc",
            "stdin",
        ],
        "a command",
    )?;
    let path = |k: &str| o.get(k).and_then(Value::as_str).map(str::to_string);
    let mut found = vec![];
    if let Some(c) = path("cmd") {
        found.push((None, Matcher::exact(c)));
    }
    if let Some(c) = o.get("contains") {
        found.push((None, Matcher::contains_all(strings(c)?)));
    }
    if let Some(r) = path("regex") {
        let re = regex::Regex::new(&r).map_err(|e| format!("regex: {e}"))?;
        found.push((None, Matcher::Regex(re)));
    }
    for (k, op) in [
        ("stat", FileOp::Stat),
        ("read_stat", FileOp::ReadStat),
        ("read", FileOp::Read),
        ("write", FileOp::Write),
    ] {
        if let Some(p) = path(k) {
            let follow = o.get("follow").and_then(Value::as_bool);
            found.push((
                Some(op),
                Matcher::File {
                    op,
                    path: p,
                    follow: if op == FileOp::Stat { follow } else { None },
                },
            ));
        }
    }
    if found.len() != 1 {
        return Err(
            "a command needs exactly one of cmd, contains, regex, stat, read_stat, read, write"
                .into(),
        );
    }
    let (op, matcher) = found.remove(0);
    let has_output = ["stdout", "stderr", "rc"]
        .iter()
        .any(|k| o.contains_key(*k));
    let reply = match (o.get("file"), op) {
        (Some(_), None) => return Err("'file' answers stat, read_stat or read only".into()),
        (Some(_), Some(_)) if has_output => {
            return Err("a command answers either 'file' or stdout/stderr/rc".into())
        }
        (Some(f), Some(op)) => fake_file(f)?.answer(op),
        (None, Some(op)) if op != FileOp::Write && !has_output => {
            return Err(format!("{matcher} needs a 'file' (or stdout/rc) to answer"))
        }
        _ => {
            let text = |k: &str| o.get(k).and_then(Value::as_str).unwrap_or_default();
            Reply::output(text("stdout"))
                .with_stderr(text("stderr"))
                .with_rc(o.get("rc").and_then(Value::as_i64).unwrap_or(0) as i32)
        }
    };
    Ok(Expect {
        matcher,
        stdin: o.get("stdin").map(text_matcher).transpose()?,
        reply,
    })
}
