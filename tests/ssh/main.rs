//! End-to-end tests over real sshd: the lab's Debian containers, reached on loopback ports.
//! Every test uses its own HOME, so known_hosts and ~/.ssh/config start empty.

#[path = "../engine/support.rs"]
#[allow(dead_code)]
mod support;

mod lab;

mod apt;
mod containerd;
mod django;
mod downloads;
mod faults;
mod hetzner;
mod hosts;
mod interrupt;
mod kernel;
mod keys;
mod kubeadm_cluster;
mod kubeadm_sim;
mod main_job;
mod reboot;
mod services;
mod site;
mod system;

use support::{Lab, Out};

/// Runs a playbook with HOME set to the scratch directory.
pub fn run(t: &Lab, args: &[&str]) -> Out {
    run_env(t, args, &[])
}

pub fn run_env(t: &Lab, args: &[&str], env: &[(&str, &str)]) -> Out {
    let home = t.path("home");
    std::fs::create_dir_all(&home).unwrap();
    let home = home.display().to_string();
    let mut all = vec![("HOME", home.as_str())];
    all.extend_from_slice(env);
    t.run_env(args, &all)
}
