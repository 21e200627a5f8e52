//! timonel: an agentless playbook runner with Ansible's syntax.

mod children;
mod cli;
mod connection;
mod diag;
mod exec;
#[cfg(test)]
mod fuzz;
mod inventory;
mod limits;
mod memguard;
mod output;
mod playbook;
mod pyfmt;
mod secret;
mod subcommands;
mod template;
mod yaml;

use clap::{CommandFactory, Parser};

#[global_allocator]
static ALLOC: memguard::Counting = memguard::Counting;

/// A `println!`/`eprintln!` anywhere (the engine's own messages included) on a pipe whose
/// reader is gone panics in Rust; end quietly instead, as SIGPIPE ends other tools.
fn quiet_on_broken_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let msg = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if msg.starts_with("failed printing to std") && msg.contains("Broken pipe") {
            output::stdout_closed();
        }
        default(info)
    }));
}

fn main() {
    quiet_on_broken_pipe();
    // The work runs on a thread with room for the nesting the limits allow (see limits.rs).
    let code = std::thread::Builder::new()
        .name("timonel".into())
        .stack_size(limits::main_stack())
        .spawn(run)
        .map(|t| t.join());
    std::process::exit(match code {
        Ok(Ok(code)) => code,
        // A panic (a bug) was reported by the hook; 101 is Rust's code for it.
        Ok(Err(_)) => 101,
        Err(e) => {
            eprintln!("error: cannot start a thread: {e}");
            exec::exit::ERROR
        }
    });
}

fn run() -> i32 {
    let cli = match cli::Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() {
                exec::exit::BAD_INPUT
            } else {
                exec::exit::OK
            };
            let _ = e.print();
            return code;
        }
    };
    match cli.cmd {
        cli::Command::Run(a) => subcommands::run::run(*a),
        cli::Command::Inventory(a) => subcommands::inventory::run(a),
        cli::Command::Doc(a) => subcommands::doc::run(a),
        cli::Command::Recap(cli::RecapCommand::Merge { files }) => {
            subcommands::recap::merge_command(&files)
        }
        cli::Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut cli::Cli::command(), "timonel", &mut script);
            output::stdout(&String::from_utf8_lossy(&script));
            exec::exit::OK
        }
    }
}
