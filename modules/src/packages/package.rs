//! package: Ansible's generic package manager front. On the Debian hosts timonel manages it
//! is apt, as in Ansible (`use: auto` picks apt there): the same arguments, the same plan.

use async_trait::async_trait;

use super::apt::{Apt, SPEC as APT};
use crate::spec::{arg, ArgSpec, ArgType::*, ModuleSpec};
use crate::{Args, ModResult, Module, ModuleError, Plan, PlanContext};

pub struct Package;

const USE: ArgSpec = arg(
    "use",
    Str,
    "The package manager; only 'auto' and 'apt' are supported (timonel's hosts run apt).",
)
.default("\"auto\"");

const COUNT: usize = APT.args.len() + 1;

/// apt's arguments and `use`: Ansible hands everything but `use` to the backend.
const ARGS: [ArgSpec; COUNT] = {
    let mut out = [USE; COUNT];
    let mut i = 0;
    while i < APT.args.len() {
        out[i] = APT.args[i];
        i += 1;
    }
    out
};

static SPEC: ModuleSpec = ModuleSpec::new(
    "package",
    "Install, upgrade or remove packages: apt on Debian hosts (all of apt's arguments).",
    &ARGS,
)
.one_of(APT.required_one_of);

#[async_trait]
impl Module for Package {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn plan(&self, ctx: &PlanContext<'_>, args: &Args) -> ModResult<Plan> {
        match args.str("use").unwrap_or("auto") {
            "auto" | "apt" | "ansible.builtin.apt" => Apt.plan(ctx, args).await,
            other => Err(ModuleError::Failed(format!(
                "package: use={other} is not supported; timonel installs packages with apt (use: auto or apt)"
            ))),
        }
    }
}
