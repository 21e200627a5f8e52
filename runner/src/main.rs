//! timonel: an agentless playbook runner with Ansible's syntax.

mod cli;
mod commands;
mod connection;
mod diag;
mod exec;
mod inventory;
mod output;
mod playbook;
mod pyfmt;
mod secret;
mod template;
mod yaml;

use clap::{CommandFactory, Parser};

fn main() {
    let cli = match cli::Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() {
                exec::exit::BAD_INPUT
            } else {
                exec::exit::OK
            };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    let code = match cli.cmd {
        cli::Command::Run(a) => commands::run::run(*a),
        cli::Command::Inventory(a) => commands::inventory::run(a),
        cli::Command::Doc(a) => commands::doc::run(a),
        cli::Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut cli::Cli::command(),
                "timonel",
                &mut std::io::stdout(),
            );
            exec::exit::OK
        }
    };
    std::process::exit(code);
}
