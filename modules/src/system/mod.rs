//! Modules that manage the host's system: users, groups.
pub mod group;
pub mod user;
