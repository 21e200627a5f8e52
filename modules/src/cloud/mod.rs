//! Modules that act on a cloud provider's API from the controller.
pub mod hetzner;
