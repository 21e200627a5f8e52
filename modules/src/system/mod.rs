//! Modules that manage the host's system: users and groups, the kernel (sysctl, modprobe),
//! mounts and swap, services, the host name, reboots.
pub mod authorized_key;
pub mod cron;
pub mod getent;
pub mod git;
pub mod group;
pub mod hostname;
pub mod locale_gen;
pub mod modprobe;
pub mod mount;
pub mod reboot;
pub mod service;
pub mod service_facts;
pub mod steps;
pub mod sysctl;
pub mod timezone;
pub mod ufw;
pub mod user;
