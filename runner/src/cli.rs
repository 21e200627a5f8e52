//! Command-line interface.

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(
    name = "timonel",
    version,
    about = "Agentless playbook runner with Ansible's syntax",
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub cmd: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run playbooks.
    Run(Box<RunArgs>),
    /// Show the inventory.
    Inventory(InventoryArgs),
    /// Describe modules and their arguments.
    Doc(DocArgs),
    /// Work with the recaps of finished runs.
    #[command(subcommand)]
    Recap(RecapCommand),
    /// Print shell completions.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Subcommand, Debug)]
pub enum RecapCommand {
    /// Merge the `--output json` results of `--slice 1/N` ... `N/N` runs into one PLAY RECAP
    /// and exit code (4 if a host was unreachable, else 2 if one failed, else 0).
    Merge {
        /// The slices' results (`timonel run ... --slice K/N --output json > FILE`).
        #[arg(required = true, value_name = "FILE")]
        files: Vec<std::path::PathBuf>,
    },
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// Playbook files, run in order.
    #[arg(required = true)]
    pub playbooks: Vec<String>,
    /// Inventory file, directory or comma-separated host list (repeatable).
    #[arg(short, long = "inventory", value_name = "INVENTORY")]
    pub inventory: Vec<String>,
    /// Report what would change without changing anything.
    #[arg(short = 'C', long)]
    pub check: bool,
    /// Show the differences in files that change (or would change).
    #[arg(short = 'D', long)]
    pub diff: bool,
    /// Limit to hosts matching this pattern, or listed in @FILE.
    #[arg(short, long, value_name = "PATTERN|@FILE")]
    pub limit: Option<String>,
    /// Hosts worked on at once.
    #[arg(short, long, default_value_t = 100, value_parser = parse_forks)]
    pub forks: usize,
    /// Work on slice K of N only: the inventory's hosts in order, dealt round-robin
    /// (positions K-1, K-1+N, ...), so N runs share the inventory (AWX's job slicing).
    #[arg(long, value_name = "K/N")]
    pub slice: Option<crate::inventory::Slice>,
    /// Extra variables: KEY=VALUE, a JSON/YAML mapping, or @FILE (repeatable).
    #[arg(short = 'e', long = "extra-vars", value_name = "VARS")]
    pub extra_vars: Vec<String>,
    /// Only run tasks with these tags (comma-separated, repeatable).
    #[arg(short, long, value_delimiter = ',')]
    pub tags: Vec<String>,
    /// Skip tasks with these tags.
    #[arg(long, value_delimiter = ',')]
    pub skip_tags: Vec<String>,
    /// Start at the task with this name.
    #[arg(long, value_name = "NAME")]
    pub start_at_task: Option<String>,
    /// List the hosts each play would run on, and stop.
    #[arg(long)]
    pub list_hosts: bool,
    /// List the tasks each play would run, and stop.
    #[arg(long)]
    pub list_tasks: bool,
    /// Check the playbook (YAML, modules, arguments) and stop.
    #[arg(long)]
    pub syntax_check: bool,
    /// Connection type for every host (local, ssh).
    #[arg(short = 'c', long)]
    pub connection: Option<String>,
    /// SSH password for every host (from TIMONEL_SSH_PASS, or asked).
    #[arg(short = 'k', long)]
    pub ask_pass: bool,
    /// Remote user, unless the inventory sets ansible_user.
    #[arg(short = 'u', long)]
    pub user: Option<String>,
    /// SSH connect timeout in seconds (default 10).
    #[arg(short = 'T', long)]
    pub timeout: Option<u64>,
    /// Run operations with become.
    #[arg(short = 'b', long = "become")]
    pub become_: bool,
    #[arg(long)]
    pub become_user: Option<String>,
    #[arg(long)]
    pub become_method: Option<String>,
    /// Read the become password from the TIMONEL_BECOME_PASS environment variable.
    #[arg(short = 'K', long)]
    pub ask_become_pass: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// Do not write a <playbook>.retry file when hosts fail.
    #[arg(long)]
    pub no_retry_file: bool,
    /// Clear the fact cache of every host. timonel keeps no fact cache between runs, so
    /// there is nothing to clear; accepted as ansible-playbook accepts it.
    #[arg(long)]
    pub flush_cache: bool,
    /// More output (-v shows every result).
    #[arg(short, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// `-f`: at least one host at a time (ansible-playbook refuses 0 as well).
fn parse_forks(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(0) => Err("the number of forks must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("'{s}' is not a whole number of forks (e.g. -f 10)")),
    }
}

#[derive(Args, Debug)]
pub struct InventoryArgs {
    #[arg(short, long = "inventory", value_name = "INVENTORY")]
    pub inventory: Vec<String>,
    /// Every host with its variables, as JSON (like ansible-inventory --list).
    #[arg(long, conflicts_with = "graph")]
    pub list: bool,
    /// The group tree.
    #[arg(long)]
    pub graph: bool,
    /// One host's variables.
    #[arg(long)]
    pub host: Option<String>,
    /// Limit to hosts matching this pattern.
    #[arg(short, long)]
    pub limit: Option<String>,
}

#[derive(Args, Debug)]
pub struct DocArgs {
    /// Module name; all modules are listed without it.
    pub module: Option<String>,
    /// Print the module's arguments as JSON.
    #[arg(long)]
    pub json: bool,
}
