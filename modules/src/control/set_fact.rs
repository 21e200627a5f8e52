use async_trait::async_trait;

use crate::spec::{arg, ArgType::*, ModuleSpec};
use crate::{Args, ModResult, Module, ModuleContext, ModuleResult, Plan};

pub struct SetFact;

static SPEC: ModuleSpec = ModuleSpec {
    name: "set_fact",
    description: "Set host variables (facts) for the rest of the run: any key: value pairs.",
    args: &[arg(
        "cacheable",
        Bool,
        "Accepted for compatibility; facts are kept for the run.",
    )
    .default("false")],
    free_form: None,
    required_one_of: &[],
    mutually_exclusive: &[],
    open: true,
};

#[async_trait]
impl Module for SetFact {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn plan(&self, _: &ModuleContext<'_>, args: &Args) -> ModResult<Plan> {
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

    async fn apply(
        &self,
        _: &ModuleContext<'_>,
        _: &Args,
        p: ModuleResult,
        _: Box<dyn std::any::Any + Send>,
    ) -> ModResult<ModuleResult> {
        Ok(p)
    }
}
