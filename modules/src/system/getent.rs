//! getent: a database of the host's name service (passwd, group, hosts, ...) as the fact
//! `getent_<database>`, as Ansible's getent module gives it: key -> the other fields.
//! Read-only, so the same in check mode.

use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::connection::sh_quote;
use crate::spec::{arg, ArgType::*, ModuleSpec};
use crate::{Args, ModResult, Module, ModuleError, ModuleResult, Plan, PlanContext};

pub struct Getent;

static SPEC: ModuleSpec = ModuleSpec::new(
    "getent",
    "Read a name-service database (passwd, group, hosts...) into the fact getent_<database>.",
    &[
        arg("database", Str, "The database: passwd, group, shadow, hosts, services...").required(),
        arg("key", Str, "Only this entry (default: the whole database).").default("\"\""),
        arg("service", Str, "The NSS service to use (getent -s)."),
        arg("split", Str, "The field separator (default ':' for passwd, shadow, group, gshadow; otherwise whitespace)."),
        arg("fail_key", Bool, "Fail when the key is not found.").default("true"),
    ],
);

/// Ansible's split: the given separator, ':' for the colon databases, else whitespace.
fn fields<'a>(line: &'a str, database: &str, split: Option<&str>) -> Vec<&'a str> {
    match split {
        Some(s) if !s.is_empty() => line.split(s).collect(),
        _ if ["passwd", "shadow", "group", "gshadow"].contains(&database) => {
            line.split(':').collect()
        }
        _ => line.split_whitespace().collect(),
    }
}

/// key -> fields; a key seen again (a host with two addresses) becomes a list of them.
fn parse(out: &str, database: &str, split: Option<&str>) -> Map<String, Value> {
    let mut res = Map::new();
    let mut seen: Map<String, Value> = Map::new();
    for line in out.lines().filter(|l| !l.is_empty()) {
        let f = fields(line, database, split);
        let Some((k, rest)) = f.split_first() else {
            continue;
        };
        let rest = Value::Array(rest.iter().map(|x| Value::String(x.to_string())).collect());
        match (seen.get(*k).is_some(), res.get_mut(*k)) {
            (true, Some(Value::Array(list))) if list.first().is_some_and(Value::is_array) => {
                list.push(rest)
            }
            (true, Some(v)) => *v = Value::Array(vec![v.take(), rest]),
            _ => {
                res.insert(k.to_string(), rest);
                seen.insert(k.to_string(), Value::Bool(true));
            }
        }
    }
    res
}

#[async_trait]
impl Module for Getent {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn plan(&self, ctx: &PlanContext<'_>, args: &Args) -> ModResult<Plan> {
        let database = args.string("database").unwrap_or_default();
        let key = args.string("key").unwrap_or_default();
        let mut cmd = String::from("getent");
        if let Some(s) = args.string("service") {
            cmd.push_str(&format!(" -s {}", sh_quote(&s)));
        }
        cmd.push_str(&format!(" {}", sh_quote(&database)));
        if !key.is_empty() {
            cmd.push_str(&format!(" {}", sh_quote(&key)));
        }
        let out = ctx.host.exec(&cmd).await?;
        let mut r = ModuleResult::ok();
        match out.rc {
            0 => {}
            1 => {
                return Err(ModuleError::Failed(format!(
                    "getent: missing arguments, or database '{database}' unknown"
                )))
            }
            2 if args.bool("fail_key") => {
                return Err(ModuleError::Failed(format!(
                    "getent: key '{key}' not found in database '{database}' (fail_key: false accepts that)"
                )))
            }
            2 => r = r.with_msg(format!("key '{key}' not found in database '{database}'")),
            3 => {
                return Err(ModuleError::Failed(format!(
                    "getent: database '{database}' cannot be listed whole; give a key"
                )))
            }
            rc => {
                return Err(ModuleError::Failed(format!(
                    "getent {database} failed (rc {rc}): {}",
                    out.stderr_str().trim()
                )))
            }
        }
        let split = args.string("split");
        let mut found = parse(&out.stdout_str(), &database, split.as_deref());
        if out.rc == 2 {
            // As Ansible: the missing key is there, with no value.
            found.insert(key.clone(), Value::Null);
        }
        let mut facts = Map::new();
        facts.insert(format!("getent_{database}"), Value::Object(found));
        r.data.insert("ansible_facts".into(), Value::Object(facts));
        Ok(Plan::Done(r))
    }
}
