//! timonel's modules and the interface between them and the runner.
//!
//! A module runs on the controller and acts on a host through a [`Connection`]. It works in
//! two steps: [`Module::plan`] only reads the host and decides what would change (with the
//! diff); [`Module::apply`] makes the change. `--check` stops after `plan`.

pub mod cloud;
pub mod commands;
pub mod connection;
pub mod control;
pub mod files;
pub mod hostfs;
pub mod mode;
pub mod packages;
pub mod registry;
pub mod result;
pub mod spec;
pub mod system;

use std::any::Any;
use std::path::PathBuf;

use async_trait::async_trait;

pub use connection::{Become, ConnError, Connection, ExecOptions, ExecOutput};
pub use hostfs::Host;
pub use result::{FileDiff, ModuleResult};
pub use spec::{ArgSpec, ArgType, Args, ModuleSpec};

#[derive(Debug, thiserror::Error)]
pub enum ModuleError {
    #[error("{0}")]
    Failed(String),
    #[error("{0}")]
    Unreachable(String),
}

pub type ModResult<T> = Result<T, ModuleError>;

/// Where a module's controller-side file lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileSource {
    Files,
    Templates,
}

/// What a module may ask of the controller: files, templating, conditions.
pub trait Controller: Send + Sync {
    /// Resolves a relative `src` the way Ansible does (role dirs, then playbook dir).
    fn find_file(&self, kind: FileSource, name: &str) -> Result<PathBuf, String>;
    /// Renders a Jinja template with the task's variables.
    fn render(&self, source: &str, name: &str) -> Result<String, String>;
    /// Evaluates a bare Jinja expression (`when`-style) to a JSON value.
    fn eval(&self, expr: &str) -> Result<serde_json::Value, String>;
    fn inventory_hostname(&self) -> String;
    /// Says what a long step is doing now, for the progress line (e.g. "create_server 40%").
    fn progress(&self, _note: &str) {}
}

pub struct ModuleContext<'a> {
    pub host: Host<'a>,
    pub check_mode: bool,
    pub diff: bool,
    pub controller: &'a dyn Controller,
}

/// The outcome of the read-only step.
pub enum Plan {
    /// Nothing to change (or nothing that needs the apply step): this is the final result.
    Done(ModuleResult),
    /// A change is needed. `preview` is what check mode reports (changed, diff); `work` is
    /// handed to `apply`.
    Change {
        preview: ModuleResult,
        work: Box<dyn Any + Send>,
    },
}

/// Work that is one shell command to run on the host (the default `apply` runs it).
pub struct ShellWork(pub String);

impl Plan {
    pub fn change<W: Any + Send>(preview: ModuleResult, work: W) -> Plan {
        Plan::Change {
            preview,
            work: Box::new(work),
        }
    }

    /// A change made by running one command.
    pub fn command(preview: ModuleResult, cmd: String) -> Plan {
        Plan::change(preview, ShellWork(cmd))
    }
}

#[async_trait]
pub trait Module: Send + Sync {
    fn spec(&self) -> &'static ModuleSpec;

    /// Modules that cannot predict their effect (command, shell) are skipped in check mode.
    fn supports_check_mode(&self) -> bool {
        true
    }

    async fn plan(&self, ctx: &ModuleContext<'_>, args: &Args) -> ModResult<Plan>;

    /// Makes the change `plan` found. The default carries out the kinds of work most
    /// modules end with: a `Plan::command`, a file's content and attributes
    /// (`files::content::plan_content`), or `system::steps::Steps`. Modules whose plan is always final never get here.
    async fn apply(
        &self,
        ctx: &ModuleContext<'_>,
        _args: &Args,
        preview: ModuleResult,
        work: Box<dyn Any + Send>,
    ) -> ModResult<ModuleResult> {
        let work = match work.downcast::<ShellWork>() {
            Ok(w) => {
                ctx.host.exec_ok(&w.0).await?;
                return Ok(preview);
            }
            Err(other) => other,
        };
        if work.is::<files::content::ContentWork>() {
            return files::content::apply_content(ctx, preview, work).await;
        }
        if work.is::<system::steps::Steps>() {
            return system::steps::apply_steps(ctx, preview, work).await;
        }
        Ok(preview)
    }
}

/// Downcasts the work a module's own `plan` produced.
pub fn take_work<W: Any>(work: Box<dyn Any + Send>) -> W {
    *work
        .downcast::<W>()
        .expect("apply receives the work its own plan produced")
}
