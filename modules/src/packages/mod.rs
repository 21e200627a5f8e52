//! Modules that manage packages on the host.
pub mod apt;
