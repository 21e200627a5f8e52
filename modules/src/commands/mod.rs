//! Modules that run commands on the host.
pub mod command;
pub mod run;
