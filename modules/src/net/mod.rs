//! Modules that talk HTTP: the request is sent from the controller (reqwest) when the host is
//! the controller itself, otherwise with curl on the host, as Ansible sends it from the host.

pub mod curl;
pub mod http;
pub mod reqwest_client;
pub mod uri;
