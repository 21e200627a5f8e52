//! End-to-end tests: each runs the real binary on playbooks in a scratch directory and
//! checks what a user sees: files on disk, the recap, the exit code, the error text.

mod support;

mod cli;
mod commands;
mod compat;
mod errors;
mod files;
mod flow;
mod hetzner;
mod inventory;
mod modules;
mod templating;
