//! Playbooks: the model, and the parser that validates everything before anything runs.
pub mod action;
pub mod freeform;
pub mod keywords;
pub mod model;
pub mod parse;
pub mod role_vars;
pub mod roles;

pub use action::{Action, EngineAction, FactsGo, Meta};
pub use model::*;
