//! Modules that act on the run itself rather than the host's files.
pub mod add_host;
pub mod assert;
pub mod debug;
pub mod fail;
pub mod pause;
pub mod ping;
pub mod set_fact;
pub mod wait_for;
pub mod wait_for_connection;
