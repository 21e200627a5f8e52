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
