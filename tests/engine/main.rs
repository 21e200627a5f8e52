//! End-to-end tests: each runs the real binary on playbooks in a scratch directory and
//! checks what a user sees: files on disk, the recap, the exit code, the error text.

mod support;

mod addons;
mod cli;
mod commands;
mod compat;
mod django_role;
mod errors;
mod files;
mod flow;
mod hetzner;
mod inventory;
mod k8s;
mod k8s_api;
/// The fake Kubernetes API server's Rust side (tests/k8s/fake.rs), shared by k8s_api and k8s.
#[path = "../k8s/fake.rs"]
#[allow(dead_code)]
mod k8s_fake;
mod loops;
mod memory;
mod modules;
mod plan;
mod robustness;
mod roles;
mod scale;
mod site_verify;
mod slices;
mod templating;
