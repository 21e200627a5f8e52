//! Argument specs: one declaration per module drives validation, suggestions and `timonel doc`.

use serde_json::{Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgType {
    Str,
    Bool,
    Int,
    Float,
    Path,
    List,
    Dict,
    Mode,
    Raw,
}

impl ArgType {
    pub fn name(self) -> &'static str {
        match self {
            ArgType::Str => "string",
            ArgType::Bool => "boolean",
            ArgType::Int => "integer",
            ArgType::Float => "number",
            ArgType::Path => "path",
            ArgType::List => "list",
            ArgType::Dict => "dict",
            ArgType::Mode => "mode",
            ArgType::Raw => "any",
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct ArgSpec {
    pub name: &'static str,
    pub ty: ArgType,
    pub required: bool,
    /// JSON text of the default value.
    pub default: Option<&'static str>,
    pub choices: &'static [&'static str],
    pub aliases: &'static [&'static str],
    pub help: &'static str,
}

pub const fn arg(name: &'static str, ty: ArgType, help: &'static str) -> ArgSpec {
    ArgSpec {
        name,
        ty,
        required: false,
        default: None,
        choices: &[],
        aliases: &[],
        help,
    }
}

impl ArgSpec {
    pub const fn required(mut self) -> Self {
        self.required = true;
        self
    }
    pub const fn default(mut self, json: &'static str) -> Self {
        self.default = Some(json);
        self
    }
    pub const fn choices(mut self, c: &'static [&'static str]) -> Self {
        self.choices = c;
        self
    }
    pub const fn aliases(mut self, a: &'static [&'static str]) -> Self {
        self.aliases = a;
        self
    }
}

#[derive(Debug)]
pub struct ModuleSpec {
    pub name: &'static str,
    pub description: &'static str,
    pub args: &'static [ArgSpec],
    /// Name of the argument that receives free-form text (`command: ls -l`).
    pub free_form: Option<&'static str>,
    /// Groups of which at least one argument must be given.
    pub required_one_of: &'static [&'static [&'static str]],
    pub mutually_exclusive: &'static [&'static [&'static str]],
    /// Accepts any argument (e.g. `set_fact`).
    pub open: bool,
    /// Other names the module answers to: Ansible collection names (`ansible.posix.sysctl`)
    /// and old names (`systemd`), so existing playbooks run unchanged.
    pub also_known_as: &'static [&'static str],
    /// How the engine treats the module, beyond running it on each host.
    pub engine: EngineTraits,
}

/// What the engine does differently for a module: facts about the module, not its arguments.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EngineTraits {
    /// Runs once for the play's hosts, on the first of them, and the others take its result
    /// (Ansible's `BYPASS_HOST_LOOP`: add_host).
    pub bypass_host_loop: bool,
    /// Its result is what the user asked to see, so it is printed at every verbosity (debug).
    pub shows_result: bool,
    /// The `ansible_facts` it returns are host variables set from the task (set_fact), not
    /// facts about the host.
    pub sets_variables: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgError {
    /// The argument the error is about, as the user wrote it.
    pub arg: Option<String>,
    pub message: String,
}

fn is_template(v: &Value) -> bool {
    matches!(v, Value::String(s) if s.contains("{{") || s.contains("{%"))
}

/// Ansible's boolean conversion.
pub fn to_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => match n.as_f64() {
            Some(1.0) => Some(true),
            Some(0.0) => Some(false),
            _ => None,
        },
        Value::String(s) => match s.to_ascii_lowercase().trim() {
            "yes" | "on" | "true" | "1" | "y" | "t" => Some(true),
            "no" | "off" | "false" | "0" | "n" | "f" | "" => Some(false),
            _ => None,
        },
        Value::Null => Some(false),
        _ => None,
    }
}

fn convert(spec: &ArgSpec, v: &Value) -> Result<Value, String> {
    let bad = || {
        format!(
            "argument '{}' must be a {}, got {}",
            spec.name,
            spec.ty.name(),
            describe(v)
        )
    };
    let out = match spec.ty {
        ArgType::Raw => v.clone(),
        ArgType::Str | ArgType::Path => match v {
            Value::String(_) => v.clone(),
            Value::Number(n) => Value::String(n.to_string()),
            Value::Bool(b) => Value::String(if *b { "True" } else { "False" }.into()),
            Value::Null => Value::Null,
            _ if spec.ty == ArgType::Str => Value::String(v.to_string()),
            _ => return Err(bad()),
        },
        ArgType::Bool => Value::Bool(to_bool(v).ok_or_else(bad)?),
        ArgType::Int => match v {
            Value::Number(n) if n.is_i64() || n.is_u64() => v.clone(),
            Value::Number(n) if n.as_f64().is_some_and(|f| f.fract() == 0.0) => {
                Value::from(n.as_f64().unwrap_or(0.0) as i64)
            }
            Value::String(s) => Value::from(s.trim().parse::<i64>().map_err(|_| bad())?),
            _ => return Err(bad()),
        },
        ArgType::Float => match v {
            Value::Number(_) => v.clone(),
            Value::String(s) => {
                serde_json::Number::from_f64(s.trim().parse::<f64>().map_err(|_| bad())?)
                    .map(Value::Number)
                    .ok_or_else(bad)?
            }
            _ => return Err(bad()),
        },
        ArgType::List => match v {
            Value::Array(_) => v.clone(),
            Value::String(s) => Value::Array(
                s.split(',')
                    .map(|p| Value::String(p.trim().to_string()))
                    .filter(|p| p.as_str() != Some(""))
                    .collect(),
            ),
            Value::Null => Value::Array(vec![]),
            other => Value::Array(vec![other.clone()]),
        },
        ArgType::Dict => match v {
            Value::Object(_) | Value::Null => v.clone(),
            _ => return Err(bad()),
        },
        ArgType::Mode => match v {
            Value::Null => Value::Null,
            _ => Value::String(
                crate::mode::normalize(v).map_err(|e| format!("argument 'mode': {e}"))?,
            ),
        },
    };
    if !spec.choices.is_empty() {
        let s = match &out {
            Value::String(s) => s.clone(),
            Value::Null => return Ok(out),
            other => other.to_string(),
        };
        if !spec.choices.contains(&s.as_str()) {
            return Err(format!(
                "argument '{}' must be one of {}, got '{}'",
                spec.name,
                spec.choices.join(", "),
                s
            ));
        }
    }
    Ok(out)
}

pub fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("boolean {b}"),
        Value::Number(n) => format!("number {n}"),
        Value::String(s) => format!("string '{s}'"),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "a mapping".into(),
    }
}

/// The closest name to `word` among `candidates`, if close enough to suggest.
pub fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(word, c), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 4) && *d < c.len())
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

impl ModuleSpec {
    pub const fn new(
        name: &'static str,
        description: &'static str,
        args: &'static [ArgSpec],
    ) -> ModuleSpec {
        ModuleSpec {
            name,
            description,
            args,
            free_form: None,
            required_one_of: &[],
            mutually_exclusive: &[],
            open: false,
            also_known_as: &[],
            engine: EngineTraits {
                bypass_host_loop: false,
                shows_result: false,
                sets_variables: false,
            },
        }
    }
    pub const fn also_known_as(mut self, names: &'static [&'static str]) -> Self {
        self.also_known_as = names;
        self
    }
    pub const fn free_form(mut self, arg: &'static str) -> Self {
        self.free_form = Some(arg);
        self
    }
    pub const fn one_of(mut self, groups: &'static [&'static [&'static str]]) -> Self {
        self.required_one_of = groups;
        self
    }
    pub const fn exclusive(mut self, groups: &'static [&'static [&'static str]]) -> Self {
        self.mutually_exclusive = groups;
        self
    }
    /// Accepts any argument name (set_fact).
    pub const fn open(mut self) -> Self {
        self.open = true;
        self
    }
    /// Runs once per play, not per host (add_host).
    pub const fn bypass_host_loop(mut self) -> Self {
        self.engine.bypass_host_loop = true;
        self
    }
    /// Its result is always printed (debug).
    pub const fn shows_result(mut self) -> Self {
        self.engine.shows_result = true;
        self
    }
    /// Its `ansible_facts` are host variables (set_fact).
    pub const fn sets_variables(mut self) -> Self {
        self.engine.sets_variables = true;
        self
    }

    pub fn find_arg(&self, name: &str) -> Option<&ArgSpec> {
        self.args
            .iter()
            .find(|a| a.name == name || a.aliases.contains(&name))
    }

    /// Validates and normalises arguments. With `partial`, values that are still templates
    /// are accepted unchecked (parse time); otherwise every value is final (run time).
    pub fn validate(&self, raw: &Map<String, Value>, partial: bool) -> Result<Args, Vec<ArgError>> {
        let mut out = Map::new();
        let mut errs = Vec::new();
        for (k, v) in raw {
            let Some(spec) = self.find_arg(k) else {
                if self.open {
                    out.insert(k.clone(), v.clone());
                    continue;
                }
                let hint = suggest(
                    k,
                    self.args
                        .iter()
                        .flat_map(|a| std::iter::once(a.name).chain(a.aliases.iter().copied())),
                )
                .map(|s| format!(" (did you mean '{s}'?)"))
                .unwrap_or_default();
                errs.push(ArgError {
                    arg: Some(k.clone()),
                    message: format!(
                        "unsupported argument '{k}' for module '{}'{hint}; it takes: {}",
                        self.name,
                        self.args
                            .iter()
                            .map(|a| a.name)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                });
                continue;
            };
            if partial
                && (is_template(v)
                    || matches!(v, Value::Array(_) | Value::Object(_))
                        && v.to_string().contains("{{"))
            {
                out.insert(spec.name.to_string(), v.clone());
                continue;
            }
            match convert(spec, v) {
                Ok(c) => {
                    out.insert(spec.name.to_string(), c);
                }
                Err(m) => errs.push(ArgError {
                    arg: Some(k.clone()),
                    message: m,
                }),
            }
        }
        for a in self.args {
            if !out.contains_key(a.name) {
                if a.required {
                    errs.push(ArgError {
                        arg: None,
                        message: format!(
                            "missing required argument '{}' for module '{}'",
                            a.name, self.name
                        ),
                    });
                } else if let Some(d) = a.default {
                    out.insert(
                        a.name.to_string(),
                        serde_json::from_str(d).expect("valid default JSON"),
                    );
                }
            }
        }
        for group in self.required_one_of {
            if !group.iter().any(|g| {
                raw.keys()
                    .any(|k| self.find_arg(k).is_some_and(|a| a.name == *g))
            }) {
                let names: Vec<&str> = group
                    .iter()
                    .map(|g| {
                        if *g == "_raw_params" {
                            "a command line"
                        } else {
                            g
                        }
                    })
                    .collect();
                errs.push(ArgError {
                    arg: None,
                    message: format!(
                        "module '{}' needs {}",
                        self.name,
                        if names.len() == 1 {
                            names[0].to_string()
                        } else {
                            format!("one of: {}", names.join(", "))
                        }
                    ),
                });
            }
        }
        for group in self.mutually_exclusive {
            let given: Vec<&str> = group
                .iter()
                .copied()
                .filter(|g| {
                    out.get(*g).is_some_and(|v| !v.is_null())
                        && raw
                            .keys()
                            .any(|k| self.find_arg(k).is_some_and(|a| a.name == *g))
                })
                .collect();
            if given.len() > 1 {
                errs.push(ArgError {
                    arg: None,
                    message: format!("arguments are mutually exclusive: {}", given.join(", ")),
                });
            }
        }
        if errs.is_empty() {
            Ok(Args(out))
        } else {
            Err(errs)
        }
    }
}

/// Validated arguments with typed accessors.
#[derive(Debug, Clone, Default)]
pub struct Args(pub Map<String, Value>);

impl Args {
    pub fn get(&self, k: &str) -> Option<&Value> {
        self.0.get(k).filter(|v| !v.is_null())
    }
    pub fn str(&self, k: &str) -> Option<&str> {
        self.get(k).and_then(Value::as_str)
    }
    pub fn string(&self, k: &str) -> Option<String> {
        self.str(k).map(str::to_string)
    }
    pub fn bool(&self, k: &str) -> bool {
        self.get(k).and_then(to_bool).unwrap_or(false)
    }
    pub fn int(&self, k: &str) -> Option<i64> {
        self.get(k).and_then(Value::as_i64)
    }
    pub fn float(&self, k: &str) -> Option<f64> {
        self.get(k).and_then(Value::as_f64)
    }
    pub fn list(&self, k: &str) -> Vec<Value> {
        match self.get(k) {
            Some(Value::Array(a)) => a.clone(),
            Some(v) => vec![v.clone()],
            None => vec![],
        }
    }
    /// A list argument as strings (non-string items in their JSON spelling).
    pub fn strings(&self, k: &str) -> Vec<String> {
        self.list(k)
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| v.to_string())
            })
            .collect()
    }

    pub fn attrs(&self) -> crate::hostfs::Attrs {
        crate::hostfs::Attrs {
            // `preserve` is resolved by copy and template, which know the source's mode.
            mode: self.string("mode").filter(|m| m != "preserve"),
            owner: self.string("owner"),
            group: self.string("group"),
        }
    }
}

/// The `mode`/`owner`/`group` arguments file modules share.
pub const ATTR_ARGS: [ArgSpec; 3] = [
    arg(
        "mode",
        ArgType::Mode,
        "Permissions, as octal ('0644') or symbolic ('u=rw,g=r').",
    ),
    arg("owner", ArgType::Str, "User that should own the file."),
    arg("group", ArgType::Str, "Group that should own the file."),
];

/// SELinux context arguments of the file modules. Accepted as Ansible accepts them, and a
/// no-op: timonel targets Debian-family hosts, where SELinux is off.
pub const SELINUX_ARGS: [ArgSpec; 4] = [
    arg(
        "setype",
        ArgType::Str,
        "SELinux type (accepted; no-op where SELinux is off).",
    ),
    arg(
        "seuser",
        ArgType::Str,
        "SELinux user (accepted; no-op where SELinux is off).",
    ),
    arg(
        "serole",
        ArgType::Str,
        "SELinux role (accepted; no-op where SELinux is off).",
    ),
    arg(
        "selevel",
        ArgType::Str,
        "SELinux level (accepted; no-op where SELinux is off).",
    ),
];
