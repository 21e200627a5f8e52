//! Modules timonel knows but doesn't implement: ansible.builtin's and the most used
//! collections' (yum, dnf, pacman, seboolean, community.postgresql.*, helm, ...). Real roles
//! carry branches for other systems that a Debian host never takes, so such a task is
//! checked before anything runs (its argument names and types, from `specs.rs`) and fails
//! only if it actually runs on a host.

use crate::spec::ModuleSpec;

mod specs;

/// The spec of a known but unimplemented module, by short name or FQCN.
pub fn find(name: &str) -> Option<&'static ModuleSpec> {
    let short = crate::registry::short_name(name);
    specs::SPECS
        .iter()
        .find(|s| s.name == short || s.also_known_as.contains(&name))
}

pub fn all() -> &'static [ModuleSpec] {
    specs::SPECS
}
