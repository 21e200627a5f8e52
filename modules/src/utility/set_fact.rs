use async_trait::async_trait;

use crate::spec::{arg, ArgType::*, ModuleSpec};
use crate::{Args, ModResult, Module, ModuleResult, Plan, PlanContext};

pub struct SetFact;

static SPEC: ModuleSpec = ModuleSpec::new(
    "set_fact",
    "Set host variables (facts) for the rest of the run: any key: value pairs.",
    &[arg(
        "cacheable",
        Bool,
        "Accepted for compatibility; facts are kept for the run.",
    )
    .default("false")],
)
.open()
.sets_variables();

#[async_trait]
impl Module for SetFact {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn plan(&self, _: &PlanContext<'_>, args: &Args) -> ModResult<Plan> {
        let mut facts = args.0.clone();
        facts.remove("cacheable");
        let mut r = ModuleResult::ok();
        r.data.insert(
            "ansible_facts".into(),
            serde_json::Value::Object(facts.clone()),
        );
        r.facts = Some(facts);
        Ok(Plan::Done(r))
    }
}
