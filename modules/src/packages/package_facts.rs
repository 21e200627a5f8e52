use async_trait::async_trait;
use serde_json::{json, Map, Value};

use crate::spec::{arg, ArgType::*, ModuleSpec};
use crate::{Args, ModResult, Module, ModuleResult, Plan, PlanContext};

pub struct PackageFacts;

static SPEC: ModuleSpec = ModuleSpec::new(
    "package_facts",
    "Installed packages as the fact ansible_facts.packages (name -> list of versions).",
    &[
        arg(
            "manager",
            List,
            "Package manager; only apt/dpkg (auto) is supported.",
        )
        .default("[\"auto\"]"),
        arg("strategy", Str, "Accepted for compatibility.")
            .default("\"first\"")
            .choices(&["first", "all"]),
    ],
);

#[async_trait]
impl Module for PackageFacts {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn plan(&self, ctx: &PlanContext<'_>, _args: &Args) -> ModResult<Plan> {
        let out = ctx.host.exec_ok("dpkg-query -W -f='${db:Status-Abbrev}\\t${Package}\\t${Version}\\t${Architecture}\\n'").await?;
        let mut packages: Map<String, Value> = Map::new();
        for line in out.stdout_str().lines() {
            let f: Vec<&str> = line.split('\t').collect();
            // Status-Abbrev is selection, state, error: "ii " or "hi " (held) are installed.
            if f.len() == 4 && f[0].as_bytes().get(1) == Some(&b'i') {
                let entry = json!({"name": f[1], "version": f[2], "arch": f[3], "source": "apt"});
                match packages.get_mut(f[1]) {
                    Some(Value::Array(v)) => v.push(entry),
                    _ => {
                        packages.insert(f[1].to_string(), Value::Array(vec![entry]));
                    }
                }
            }
        }
        let mut facts = Map::new();
        facts.insert("packages".into(), Value::Object(packages));
        let mut r = ModuleResult::ok();
        r.data.insert("ansible_facts".into(), Value::Object(facts));
        Ok(Plan::Done(r))
    }
}
