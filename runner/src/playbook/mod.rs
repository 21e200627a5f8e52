//! Playbooks: the model, and the parser that validates everything before anything runs.
pub mod action;
pub mod freeform;
pub mod keywords;
pub mod model;
pub mod parse;
pub mod role_vars;
pub mod roles;
mod var_name;

pub use action::{Action, EngineAction, FactsGo, Meta};
pub use model::*;
pub use var_name::{invalid_variable_name, valid_variable_name};
