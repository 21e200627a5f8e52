//! Modules that manage packages on the host.
pub mod apt;
pub mod apt_key;
pub mod dpkg_selections;
pub mod package;
pub mod package_facts;
pub mod pip;
pub mod sources;
