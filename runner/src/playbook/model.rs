//! The parsed playbook: plays, blocks, tasks and roles, with positions for error messages.

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::diag::Pos;

#[derive(Debug, Clone, Default)]
pub struct BecomeKw {
    pub become_: Option<Value>,
    pub user: Option<String>,
    pub method: Option<String>,
}

/// What a task is nested in: blocks, task files (imported, included, a role's) and roles.
/// The parser stops at `limits::NESTING` levels and at import loops, so a file that
/// imports or includes itself ends with an error instead of overflowing the stack.
#[derive(Debug, Clone, Default)]
pub struct Nesting {
    pub depth: usize,
    /// The task files on the way here, outermost first: (as written, canonical).
    pub files: Arc<Vec<(PathBuf, PathBuf)>>,
    /// On an include_tasks / include_role task: that statement, where a nesting error in what
    /// it includes (parsed at run time) is reported.
    pub via: Option<Pos>,
}

/// Keywords a task inherits from its play, role and enclosing blocks.
#[derive(Debug, Clone, Default)]
pub struct Inherited {
    pub when: Vec<Value>,
    pub tags: Vec<String>,
    pub become_: BecomeKw,
    /// Block vars, outermost first.
    pub vars: Map<String, Value>,
    pub environment: Vec<Value>,
    pub ignore_errors: Option<Value>,
    pub check_mode: Option<Value>,
    pub diff: Option<Value>,
    pub no_log: Option<Value>,
    pub delegate_to: Option<String>,
    pub run_once: Option<Value>,
    pub any_errors_fatal: Option<bool>,
    /// The nearest block's or import's `notify`: a task without its own notifies these.
    pub notify: Vec<String>,
    pub role: Option<Arc<Role>>,
    /// Ansible's include params: the `vars:` of the include_tasks / include_role this task
    /// came through, and the parent role's params and names for an included role; above
    /// set_fact in precedence.
    pub include_params: Map<String, Value>,
    pub nesting: Nesting,
}

/// A role's own data: its files and what the place that lists it gives it.
#[derive(Debug)]
pub struct RoleData {
    pub name: String,
    pub path: PathBuf,
    pub defaults: Map<String, Value>,
    pub vars: Map<String, Value>,
    /// Parameters given where the role is listed (`- role: x` + `param: value`).
    pub params: Map<String, Value>,
    /// `vars:` given where the role is listed (Ansible's role `vars`, below set_fact).
    pub listed_vars: Map<String, Value>,
}

/// A role as one place brings it in: its data, its `meta/main.yml` dependencies, and the
/// roles that brought it in (Ansible's dependency chain), which its variables inherit.
/// Variables of a role are computed in `role_vars.rs`.
#[derive(Debug)]
pub struct Role {
    pub own: Arc<RoleData>,
    /// Direct dependencies in listed order, each with its own.
    pub deps: Vec<Arc<Role>>,
    /// The roles whose meta (or import_role/include_role) brought this one in, outermost first.
    pub parents: Vec<Arc<RoleData>>,
    /// What makes two listings the same role (Ansible's role hash: name, path, parameters,
    /// vars, when, tags, files named, include or not): once one has completed on a host,
    /// the tasks of the others are skipped there, unless `allow_duplicates`.
    pub key: String,
    pub allow_duplicates: bool,
    /// The play sees its defaults and vars (and its dependencies'): `roles:` and import_role
    /// by default, include_role with `public: true`; ANSIBLE_PRIVATE_ROLE_VARS and the
    /// `public` argument change it.
    pub public: bool,
}

impl std::ops::Deref for Role {
    type Target = RoleData;
    fn deref(&self) -> &RoleData {
        &self.own
    }
}

#[derive(Debug, Clone)]
pub struct Task {
    pub name: Option<String>,
    /// What the task does, resolved when it was parsed.
    pub action: super::Action,
    pub args: Map<String, Value>,
    pub pos: Pos,
    pub inh: Inherited,
    pub register: Option<String>,
    pub loop_: Option<Value>,
    /// `loop`, or the `with_*` lookup it came from (which shapes the items).
    pub loop_kind: String,
    pub loop_var: String,
    pub index_var: Option<String>,
    pub loop_label: Option<Value>,
    pub loop_pause: Option<f64>,
    /// `loop_control.extended` / `extended_allitems` (may be templated): `ansible_loop`.
    pub loop_extended: Option<Value>,
    pub loop_extended_allitems: Option<Value>,
    /// `loop_control.break_when`: conditions after each item that end the loop.
    pub break_when: Vec<Value>,
    pub changed_when: Option<Vec<Value>>,
    pub failed_when: Option<Vec<Value>>,
    pub until: Option<Vec<Value>>,
    pub retries: Option<Value>,
    pub delay: Option<Value>,
    pub notify: Vec<String>,
    pub listen: Vec<String>,
    pub ignore_unreachable: bool,
    /// At most this many hosts run the task at once.
    pub throttle: Option<usize>,
    /// include_tasks / include_role `apply:` the keywords the included tasks inherit.
    pub apply: Option<Box<Inherited>>,
}

impl Task {
    /// Whether `--start-at-task want` names this task: its name or its shown name, equal
    /// or matching it as a shell pattern (Ansible's fnmatch: `--start-at-task '*deploy*'`).
    pub fn starts_at(&self, want: &str) -> bool {
        let pattern = glob::Pattern::new(want).ok();
        let hit = |s: &str| s == want || pattern.as_ref().is_some_and(|p| p.matches(s));
        self.name.as_deref().is_some_and(hit) || hit(&self.display_name())
    }

    /// What the output shows between TASK [...]: the name, or the action.
    pub fn display_name(&self) -> String {
        let base = self
            .name
            .clone()
            .unwrap_or_else(|| self.action.name().to_string());
        match &self.inh.role {
            Some(r) => format!("{} : {}", r.name, base),
            None => base,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Block {
    pub block: Vec<Item>,
    pub rescue: Vec<Item>,
    pub always: Vec<Item>,
}

#[derive(Debug, Clone)]
pub enum Item {
    Task(Arc<Task>),
    Block(Arc<Block>),
    /// The end of a role's tasks (Ansible's implicit `role_complete`): a host that ran one
    /// of them has completed the role.
    RoleEnd(Arc<Role>),
}

#[derive(Debug, Clone)]
pub struct Play {
    pub name: String,
    pub hosts: String,
    pub pos: Pos,
    pub vars: Map<String, Value>,
    pub vars_files: Vec<Value>,
    /// `gather_facts:` when the play sets it (else ANSIBLE_GATHERING decides).
    pub gather_facts: Option<bool>,
    pub serial: Vec<Value>,
    /// `order:` (inventory, reverse_inventory, sorted, reverse_sorted, shuffle), maybe a
    /// template of play and extra vars.
    pub order: Option<String>,
    pub strategy: String,
    pub any_errors_fatal: bool,
    pub max_fail_percentage: Option<f64>,
    pub force_handlers: bool,
    /// pre_tasks, roles, tasks, post_tasks; handlers are flushed after pre_tasks, after the
    /// roles and tasks together, and after post_tasks.
    pub sections: Vec<Vec<Item>>,
    pub handlers: Vec<Arc<Task>>,
    /// The roles `roles:` and import_role bring in (not their dependencies); the play's
    /// tasks see the defaults and vars of those that are public.
    pub roles: Vec<Arc<Role>>,
    pub dir: PathBuf,
    pub inh: Inherited,
}

#[derive(Debug, Clone)]
pub struct Playbook {
    pub path: PathBuf,
    pub plays: Vec<Play>,
    /// Found before running, but only a failure if the task runs (as in Ansible).
    pub warnings: Vec<crate::diag::Diagnostic>,
}
