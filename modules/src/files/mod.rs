//! Modules that manage files on the host.
pub mod blockinfile;
pub mod content;
pub mod copy;
pub mod edit;
pub mod fetch;
pub mod file;
pub mod find;
pub mod get_url;
pub mod ini_file;
pub mod lineinfile;
pub mod replace;
pub mod slurp;
pub mod stat;
pub mod template;
pub mod unarchive;
