//! A task's arguments, templated and checked against its module's spec: what the module
//! is given, on a host or in a plan of a host not created yet.

use serde_json::Value;

use timonel_modules::{Args, Module};

use super::play_ctx::PlayCtx;
use super::vars::strip_omit;
use crate::playbook::Task;

pub fn module_args(
    p: &PlayCtx,
    t: &Task,
    module: &dyn Module,
    ctx: &minijinja::Value,
) -> Result<Args, String> {
    let rendered = match p
        .shared
        .templar
        .render_value(&Value::Object(t.args.clone()), ctx)
    {
        Ok(v) => strip_omit(v),
        Err(e) => {
            return Err(format!(
                "{e} (in the arguments of task '{}')",
                t.display_name()
            ))
        }
    };
    let raw = crate::playbook::freeform::expand_args_template(
        rendered.as_object().cloned().unwrap_or_default(),
    );
    // set_fact's names may be templates; what they render to must be a variable name.
    if module.spec().engine.sets_variables {
        let bad = raw
            .keys()
            .find(|k| *k != "cacheable" && !crate::playbook::valid_variable_name(k));
        if let Some(k) = bad {
            // Mapping keys are strings here; digits were a number (YAML's or a template's).
            let name = k
                .parse::<i64>()
                .map(Value::from)
                .unwrap_or_else(|_| Value::String(k.clone()));
            return Err(format!(
                "Task failed: {}",
                crate::playbook::invalid_variable_name(&name)
            ));
        }
    }
    module.spec().validate(&raw, false).map_err(|errs| {
        format!(
            "invalid arguments for {}: {}",
            module.spec().name,
            errs.iter()
                .map(|e| e.message.clone())
                .collect::<Vec<_>>()
                .join("; ")
        )
    })
}
