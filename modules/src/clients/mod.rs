//! API clients that several parts share: the modules and the runner's inventory sources
//! (Hetzner Cloud now; Kubernetes next).

pub mod hetzner;
