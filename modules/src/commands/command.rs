//! command, shell and raw: one implementation, three ways of turning arguments into a script.

use async_trait::async_trait;
use serde_json::Value;

use super::run::{guard, run};
use crate::connection::sh_quote;
use crate::spec::{arg, ArgSpec, ArgType::*, ModuleSpec};
use crate::{
    Apply, ApplyContext, Args, ModResult, Module, ModuleError, ModuleResult, Plan, PlanContext,
    Work,
};

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// No shell features: the words are run as given.
    Command,
    Shell,
    /// Like shell, but with no creates/removes guards.
    Raw,
}

pub struct CommandModule(pub Kind);

const COMMON: [ArgSpec; 7] = [
    arg("_raw_params", Str, "The command line (free form).").aliases(&["cmd"]),
    arg("chdir", Path, "Change into this directory first."),
    arg("creates", Path, "Do not run if this path exists."),
    arg("removes", Path, "Only run if this path exists."),
    arg("stdin", Str, "Text to feed the command on standard input."),
    arg("stdin_add_newline", Bool, "Add a newline to stdin.").default("true"),
    arg(
        "strip_empty_ends",
        Bool,
        "Strip trailing newlines from stdout/stderr.",
    )
    .default("true"),
];

static COMMAND: ModuleSpec = ModuleSpec::new(
    "command",
    "Run a command without a shell (no pipes, redirects or variables).",
    &[
        COMMON[0],
        COMMON[1],
        COMMON[2],
        COMMON[3],
        COMMON[4],
        COMMON[5],
        COMMON[6],
        arg(
            "argv",
            List,
            "The command as a list of words, instead of free form.",
        ),
    ],
)
.free_form("_raw_params")
.one_of(&[&["_raw_params", "argv"]])
.exclusive(&[&["_raw_params", "argv"]]);

static SHELL: ModuleSpec = ModuleSpec::new(
    "shell",
    "Run a command line through the shell (pipes, redirects and variables work).",
    &[
        COMMON[0],
        COMMON[1],
        COMMON[2],
        COMMON[3],
        COMMON[4],
        COMMON[5],
        COMMON[6],
        arg("executable", Path, "Shell to use instead of /bin/sh."),
    ],
)
.free_form("_raw_params")
.one_of(&[&["_raw_params"]]);

static RAW: ModuleSpec = ModuleSpec::new(
    "raw",
    "Run a command line as is, with no creates/removes guards.",
    &[
        arg("_raw_params", Str, "The command line (free form).").required(),
        arg("executable", Path, "Shell to use instead of /bin/sh."),
    ],
)
.free_form("_raw_params");

impl CommandModule {
    fn script(&self, args: &Args) -> ModResult<(String, Value)> {
        let raw = args.string("_raw_params").unwrap_or_default();
        let wrap = |s: String| match args.str("executable") {
            Some(e) => format!("{} -c {}", sh_quote(e), sh_quote(&s)),
            None => s,
        };
        match self.0 {
            Kind::Shell | Kind::Raw => Ok((wrap(raw.clone()), Value::String(raw))),
            Kind::Command => {
                let words: Vec<String> = if args.get("argv").is_some() {
                    args.strings("argv")
                } else {
                    shlex::split(&raw).ok_or_else(|| {
                        ModuleError::Failed(format!(
                            "cannot split command line (unbalanced quotes?): {raw}"
                        ))
                    })?
                };
                if words.is_empty() {
                    return Err(ModuleError::Failed("no command given".into()));
                }
                let script = format!(
                    "exec {}",
                    words
                        .iter()
                        .map(|w| sh_quote(w))
                        .collect::<Vec<_>>()
                        .join(" ")
                );
                Ok((
                    script,
                    Value::Array(words.into_iter().map(Value::String).collect()),
                ))
            }
        }
    }
}

#[async_trait]
impl Module for CommandModule {
    fn spec(&self) -> &'static ModuleSpec {
        match self.0 {
            Kind::Command => &COMMAND,
            Kind::Shell => &SHELL,
            Kind::Raw => &RAW,
        }
    }

    fn supports_check_mode(&self) -> bool {
        false
    }

    fn check_mode_skip_msg(&self) -> String {
        crate::invoke::SKIPPED_IN_CHECK.to_string()
    }

    async fn plan(&self, ctx: &PlanContext<'_>, args: &Args) -> ModResult<Plan> {
        if self.0 != Kind::Raw {
            if let Some(done) = guard(ctx, args).await? {
                return Ok(Plan::Done(done));
            }
        }
        let (script, shown) = self.script(args)?;
        Ok(Plan::change(
            ModuleResult::changed(),
            Work::custom(Script { script, shown }),
        ))
    }
}

/// The command line to run and how the result shows it (`cmd`).
struct Script {
    script: String,
    shown: Value,
}

#[async_trait]
impl Apply for Script {
    async fn apply(
        self: Box<Self>,
        ctx: &ApplyContext<'_>,
        args: &Args,
        _: ModuleResult,
    ) -> ModResult<ModuleResult> {
        run(ctx, args, self.script, self.shown).await
    }
}
