//! What the engine does with a module: plan, then apply unless in check mode. The one place
//! that knows check mode; modules only plan and carry out work.

use crate::{ApplyContext, Args, ModResult, Module, ModuleError, ModuleResult, Plan};

/// Whether changes are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Apply,
    Check,
}

/// The message of a change a command module would have made (Ansible's words).
pub const SKIPPED_IN_CHECK: &str = "Command would have run if not in check mode";

/// Plans, then in `Mode::Apply` carries the work out. In `Mode::Check` a change is the
/// plan's preview (a module that cannot predict its effect is skipped, as Ansible does) and
/// an unknown outcome is a change with its reason.
pub async fn invoke(
    module: &dyn Module,
    ctx: &ApplyContext<'_>,
    args: &Args,
    mode: Mode,
) -> ModResult<ModuleResult> {
    let plan = module.plan(&ctx.plan_view(), args).await?;
    match (plan, mode) {
        (Plan::Done(r), _) => Ok(r),
        (Plan::Change { preview, work }, Mode::Apply) => work.apply(ctx, args, preview).await,
        (Plan::Change { preview, work }, Mode::Check) => {
            work.discard(ctx).await?;
            if module.supports_check_mode() {
                Ok(preview)
            } else {
                let mut r = ModuleResult::ok().with_msg(module.check_mode_skip_msg());
                r.skipped = true;
                Ok(r)
            }
        }
        (Plan::Unknown { reason, .. }, Mode::Apply) => Err(ModuleError::Failed(reason)),
        (Plan::Unknown { preview, reason }, Mode::Check) => {
            let mut r = preview;
            if r.msg.is_none() {
                r.msg = Some(reason);
            }
            Ok(r)
        }
    }
}
