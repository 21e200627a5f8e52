//! One file per subcommand.
pub mod doc;
pub mod inventory;
pub mod recap;
pub mod run;
