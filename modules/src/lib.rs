//! timonel's modules and the interface between them and the runner.
//!
//! A module runs on the controller and acts on a host through a [`Connection`]. It works in
//! two steps: [`Module::plan`] only reads the host and decides what would change (with the
//! diff) as a [`Plan`]; the plan's [`Work`] makes the change. The engine owns check mode
//! ([`invoke`]): `--check` stops after the plan.

mod calendar;
pub mod clients;
pub mod cloud;
pub mod commands;
pub mod connection;
pub mod files;
pub mod hostfs;
pub mod invoke;
pub mod known;
pub mod kubernetes;
pub mod mode;
pub mod net;
pub mod packages;
pub mod private_file;
pub mod pyre;
pub mod registry;
pub mod result;
pub mod spec;
pub mod system;
pub mod testkit;
pub mod utility;

use std::path::PathBuf;

use async_trait::async_trait;

pub use connection::{Become, ConnError, Connection, ExecOptions, ExecOutput};
pub use hostfs::{Host, HostView};
pub use result::{FileDiff, ModuleResult, KNOWN_AFTER_APPLY};
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
    /// Reads a controller text file (a template's source) within the controller's limit on
    /// file reads, so a huge file or a device ends with an error instead of filling memory.
    fn read_text(&self, path: &std::path::Path) -> Result<String, String> {
        use std::io::Read;
        const MAX: u64 = 64 << 20;
        let mut buf = String::new();
        std::fs::File::open(path)
            .and_then(|f| f.take(MAX + 1).read_to_string(&mut buf))
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if buf.len() as u64 > MAX {
            return Err(format!("{} is larger than {MAX} bytes", path.display()));
        }
        Ok(buf)
    }
    /// Renders a Jinja template with the task's variables.
    fn render(&self, source: &str, name: &str) -> Result<String, String>;
    /// Evaluates a bare Jinja expression (`when`-style) to a JSON value.
    fn eval(&self, expr: &str) -> Result<serde_json::Value, String>;
    fn inventory_hostname(&self) -> String;
    /// Says what a long step is doing now, for the progress line (e.g. "create_server 40%").
    fn progress(&self, _note: &str) {}
    /// Parses YAML as the playbooks are parsed (YAML 1.1, anchors, duplicate keys refused):
    /// one value per document, with the line it starts on. `name` is used in errors.
    fn yaml_documents(&self, _text: &str, name: &str) -> Result<Vec<YamlDocument>, String> {
        Err(format!("{name}: this controller reads no YAML"))
    }
    /// Block-style YAML for a value (diffs of structured objects).
    fn to_yaml(&self, value: &serde_json::Value) -> String {
        serde_json::to_string_pretty(value).unwrap_or_default()
    }
}

/// One YAML document of a file a module reads, and the line it starts on.
#[derive(Debug, Clone)]
pub struct YamlDocument {
    pub value: serde_json::Value,
    pub line: usize,
}

/// What a module's plan step gets: a read view of the host, the diff flag, the controller.
/// Plans never see check mode: the engine decides whether the change is made.
pub struct PlanContext<'a> {
    pub host: HostView<'a>,
    pub diff: bool,
    pub controller: &'a dyn Controller,
}

/// What the apply step gets: the host with writes.
pub struct ApplyContext<'a> {
    pub host: Host<'a>,
    pub diff: bool,
    pub controller: &'a dyn Controller,
}

impl<'a> ApplyContext<'a> {
    /// The same host and flags as a plan sees them (for a re-read after a change).
    pub fn plan_view(&self) -> PlanContext<'_> {
        PlanContext {
            host: HostView {
                conn: self.host.conn,
                opts: self.host.opts.clone(),
            },
            diff: self.diff,
            controller: self.controller,
        }
    }
}

/// The outcome of the read-only step.
pub enum Plan {
    /// Nothing to change (or nothing that needs the apply step): this is the final result.
    Done(ModuleResult),
    /// A change is needed. `preview` is what check mode reports (changed, diff); `work` is
    /// what `apply` carries out.
    Change { preview: ModuleResult, work: Work },
    /// Whether (and how) it would change can't be known until an earlier task has run: the
    /// unit its package would install, the network an earlier task would create. Check mode
    /// reports `preview` with `reason` ("known after apply"); a real run fails with
    /// `reason`, since by then the earlier task should have made it so.
    Unknown {
        preview: ModuleResult,
        reason: String,
    },
}

/// The change a plan found, as a type the compiler checks: every kind is carried out by
/// [`Work::apply`], and a module's own kind of work by its [`Apply`] implementation, so no
/// plan can report a change that nothing makes.
pub enum Work {
    /// One shell command on the host.
    Shell(String),
    /// A file's content and attributes (copy, template and the text editors).
    Content(Box<files::content::ContentWork>),
    /// Configuration files and commands in order (the kernel and init modules).
    Steps(system::steps::Steps),
    /// A module's own work.
    Custom(Box<dyn Apply>),
}

/// A module's own kind of work.
#[async_trait]
pub trait Apply: Send {
    /// Makes the change; `preview` is the plan's result, returned with what applying added.
    async fn apply(
        self: Box<Self>,
        ctx: &ApplyContext<'_>,
        args: &Args,
        preview: ModuleResult,
    ) -> ModResult<ModuleResult>;

    /// Undoes what the plan left on the host when the change is not made (check mode):
    /// a scratch upload. Most work leaves nothing.
    async fn discard(self: Box<Self>, _ctx: &ApplyContext<'_>) -> ModResult<()> {
        Ok(())
    }
}

impl Work {
    pub fn custom(work: impl Apply + 'static) -> Work {
        Work::Custom(Box::new(work))
    }

    pub async fn apply(
        self,
        ctx: &ApplyContext<'_>,
        args: &Args,
        preview: ModuleResult,
    ) -> ModResult<ModuleResult> {
        match self {
            Work::Shell(cmd) => {
                ctx.host.exec_ok(&cmd).await?;
                Ok(preview)
            }
            Work::Content(w) => files::content::apply_content(ctx, preview, *w).await,
            Work::Steps(s) => system::steps::apply_steps(ctx, preview, s).await,
            Work::Custom(w) => w.apply(ctx, args, preview).await,
        }
    }

    pub async fn discard(self, ctx: &ApplyContext<'_>) -> ModResult<()> {
        match self {
            Work::Custom(w) => w.discard(ctx).await,
            _ => Ok(()),
        }
    }
}

impl Plan {
    pub fn change(preview: ModuleResult, work: Work) -> Plan {
        Plan::Change { preview, work }
    }

    /// A change made by running one command.
    pub fn command(preview: ModuleResult, cmd: String) -> Plan {
        Plan::change(preview, Work::Shell(cmd))
    }
}

#[async_trait]
pub trait Module: Send + Sync {
    fn spec(&self) -> &'static ModuleSpec;

    /// Modules that cannot predict their effect (command, shell) are skipped in check mode.
    fn supports_check_mode(&self) -> bool {
        true
    }

    /// What check mode reports for a module that doesn't support it (Ansible's words).
    fn check_mode_skip_msg(&self) -> String {
        format!(
            "This action ({}) does not support check mode.",
            self.spec().name
        )
    }

    /// Reads the host (and APIs) and decides what would change. Never writes, but for a
    /// scratch upload its work discards ([`HostView::upload_scratch`]).
    async fn plan(&self, ctx: &PlanContext<'_>, args: &Args) -> ModResult<Plan>;

    /// The file this task would create on a host that doesn't exist yet (a server `--check`
    /// did not create: a fresh image, never touched), for a plan's diff from "absent",
    /// computed on the controller alone. `None` (the default): only the host can tell.
    fn new_host_file(
        &self,
        _args: &Args,
        _controller: &dyn Controller,
    ) -> Option<Result<files::content::NewFile, String>> {
        None
    }
}
