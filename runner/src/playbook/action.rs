//! What a task does, resolved once when the playbook is parsed: a module from the registry,
//! a module timonel knows but doesn't implement, or an action the engine carries out itself.
//! Every spelling of a name (short, `ansible.builtin.x`, `ansible.legacy.x`, a collection
//! alias such as `ansible.posix.sysctl`) resolves to the same action, so the engine never
//! compares names.

use timonel_modules::spec::EngineTraits;
use timonel_modules::{Module, ModuleSpec};

/// A task's action.
#[derive(Clone)]
pub enum Action {
    /// A module timonel implements.
    Module(&'static dyn Module),
    /// A module timonel knows (its arguments are checked up front) but doesn't implement: the
    /// task fails if it runs.
    NotImplemented(&'static ModuleSpec),
    /// Carried out by the engine, not by a module.
    Engine(EngineAction),
    /// A name that `action:` / `local_action:` gave and nothing answers to: fails if it runs.
    Unknown(String),
}

/// The actions the engine carries out itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineAction {
    Meta(Meta),
    IncludeTasks,
    IncludeRole,
    /// Static: the parser replaces it with the file's tasks.
    ImportTasks,
    /// Static: the parser replaces it with the role's tasks.
    ImportRole,
    IncludeVars,
    /// `setup`: the host's facts.
    Setup,
    /// `gather_facts` as a task: the same as setup.
    GatherFacts,
    /// Valid only as a play; as a task it fails when it runs.
    ImportPlaybook,
    /// Removed from Ansible; the parser rejects it.
    Include,
}

/// The meta actions ansible-core knows; the engine carries out the ones that matter here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Meta {
    FlushHandlers,
    RefreshInventory,
    Noop,
    ClearFacts,
    ClearHostErrors,
    EndPlay,
    EndHost,
    EndBatch,
    EndRole,
    ResetConnection,
    RoleComplete,
}

impl Meta {
    pub const ALL: &'static [Meta] = &[
        Meta::FlushHandlers,
        Meta::RefreshInventory,
        Meta::Noop,
        Meta::ClearFacts,
        Meta::ClearHostErrors,
        Meta::EndPlay,
        Meta::EndHost,
        Meta::EndBatch,
        Meta::EndRole,
        Meta::ResetConnection,
        Meta::RoleComplete,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Meta::FlushHandlers => "flush_handlers",
            Meta::RefreshInventory => "refresh_inventory",
            Meta::Noop => "noop",
            Meta::ClearFacts => "clear_facts",
            Meta::ClearHostErrors => "clear_host_errors",
            Meta::EndPlay => "end_play",
            Meta::EndHost => "end_host",
            Meta::EndBatch => "end_batch",
            Meta::EndRole => "end_role",
            Meta::ResetConnection => "reset_connection",
            Meta::RoleComplete => "role_complete",
        }
    }

    pub fn from_name(name: &str) -> Option<Meta> {
        Meta::ALL.iter().copied().find(|m| m.name() == name)
    }
}

impl EngineAction {
    /// Every engine action, with its name (meta's argument is resolved separately).
    const NAMES: &'static [(&'static str, EngineAction)] = &[
        ("meta", EngineAction::Meta(Meta::Noop)),
        ("include_tasks", EngineAction::IncludeTasks),
        ("import_tasks", EngineAction::ImportTasks),
        ("include_role", EngineAction::IncludeRole),
        ("import_role", EngineAction::ImportRole),
        ("include_vars", EngineAction::IncludeVars),
        ("setup", EngineAction::Setup),
        ("gather_facts", EngineAction::GatherFacts),
        ("import_playbook", EngineAction::ImportPlaybook),
        ("include", EngineAction::Include),
    ];

    /// The names the engine answers to (short form), for suggestions.
    pub fn names() -> impl Iterator<Item = &'static str> {
        Self::NAMES.iter().map(|(n, _)| *n)
    }

    /// By short name or FQCN (`ansible.builtin.include_tasks`).
    pub fn find(name: &str) -> Option<EngineAction> {
        let short = timonel_modules::registry::short_name(name);
        Self::NAMES
            .iter()
            .find(|(n, _)| *n == short)
            .map(|(_, a)| *a)
    }

    pub fn name(self) -> &'static str {
        let same = |a: EngineAction| match (a, self) {
            (EngineAction::Meta(_), EngineAction::Meta(_)) => true,
            (a, b) => a == b,
        };
        Self::NAMES
            .iter()
            .find(|(_, a)| same(*a))
            .map_or("meta", |(n, _)| n)
    }

    /// include_tasks / include_role: chosen per host at run time.
    pub fn is_include(self) -> bool {
        matches!(self, EngineAction::IncludeTasks | EngineAction::IncludeRole)
    }
}

impl Action {
    /// The action a task's module name stands for, or None if nothing answers to it.
    pub fn resolve(name: &str) -> Option<Action> {
        if let Some(m) = timonel_modules::registry::find(name) {
            return Some(Action::Module(m));
        }
        if let Some(a) = EngineAction::find(name) {
            return Some(Action::Engine(a));
        }
        timonel_modules::known::find(name).map(Action::NotImplemented)
    }

    /// The action's own name, whichever alias the playbook used: what the output shows for a
    /// task without a name, and what `ansible_failed_task.action` holds.
    pub fn name(&self) -> &str {
        match self {
            Action::Module(m) => m.spec().name,
            Action::NotImplemented(s) => s.name,
            Action::Engine(a) => a.name(),
            Action::Unknown(n) => timonel_modules::registry::short_name(n),
        }
    }

    /// The argument spec, for a module timonel implements or knows.
    pub fn spec(&self) -> Option<&'static ModuleSpec> {
        match self {
            Action::Module(m) => Some(m.spec()),
            Action::NotImplemented(s) => Some(s),
            Action::Engine(_) | Action::Unknown(_) => None,
        }
    }

    /// How the engine treats the module (nothing special for engine actions).
    pub fn traits(&self) -> EngineTraits {
        self.spec().map(|s| s.engine).unwrap_or_default()
    }

    pub fn engine(&self) -> Option<EngineAction> {
        match self {
            Action::Engine(a) => Some(*a),
            _ => None,
        }
    }

    /// Where the `ansible_facts` in its result go.
    pub fn facts_go(&self) -> FactsGo {
        match self {
            Action::Engine(EngineAction::IncludeVars) => FactsGo::Variables { data: false },
            Action::Engine(EngineAction::Setup | EngineAction::GatherFacts) => FactsGo::Facts,
            a if a.traits().sets_variables => FactsGo::Variables { data: true },
            _ => FactsGo::FactsAndVariables,
        }
    }
}

/// Where a result's `ansible_facts` go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FactsGo {
    /// Host variables (set_fact, include_vars); `data` when they were templated already.
    Variables { data: bool },
    /// The host's facts only (setup: `ansible_*`).
    Facts,
    /// Facts, and variables under their own name, as Ansible injects a module's facts
    /// (getent_passwd, packages).
    FactsAndVariables,
}

impl std::fmt::Debug for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Action::Module(m) => write!(f, "Module({})", m.spec().name),
            Action::NotImplemented(s) => write!(f, "NotImplemented({})", s.name),
            Action::Engine(a) => write!(f, "Engine({a:?})"),
            Action::Unknown(n) => write!(f, "Unknown({n})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_resolves_to_the_same_action() {
        for (a, b) in [
            ("copy", "ansible.builtin.copy"),
            ("copy", "ansible.legacy.copy"),
            ("sysctl", "ansible.posix.sysctl"),
            ("include_tasks", "ansible.builtin.include_tasks"),
            ("setup", "ansible.builtin.setup"),
            ("dnf", "ansible.builtin.dnf"),
        ] {
            let (x, y) = (Action::resolve(a).unwrap(), Action::resolve(b).unwrap());
            assert_eq!(x.name(), y.name(), "{a} / {b}");
            assert_eq!(format!("{x:?}"), format!("{y:?}"), "{a} / {b}");
        }
        assert!(matches!(
            Action::resolve("ansible.builtin.include_role"),
            Some(Action::Engine(EngineAction::IncludeRole))
        ));
        assert!(matches!(
            Action::resolve("dnf"),
            Some(Action::NotImplemented(_))
        ));
        assert!(Action::resolve("copyy").is_none());
    }

    #[test]
    fn engine_behaviours_come_from_the_spec() {
        let add_host = Action::resolve("ansible.builtin.add_host").unwrap();
        assert!(add_host.traits().bypass_host_loop);
        assert!(Action::resolve("debug").unwrap().traits().shows_result);
        assert_eq!(
            Action::resolve("set_fact").unwrap().facts_go(),
            FactsGo::Variables { data: true }
        );
        assert_eq!(
            Action::resolve("include_vars").unwrap().facts_go(),
            FactsGo::Variables { data: false }
        );
        assert_eq!(Action::resolve("setup").unwrap().facts_go(), FactsGo::Facts);
        assert_eq!(
            Action::resolve("getent").unwrap().facts_go(),
            FactsGo::FactsAndVariables
        );
        assert_eq!(
            Action::resolve("gather_facts").unwrap().name(),
            "gather_facts"
        );
        assert_eq!(EngineAction::Meta(Meta::EndPlay).name(), "meta");
    }
}
