//! `timonel run`: load inventory and playbooks, validate everything, then run.

use std::path::Path;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::cli::{OutputFormat, RunArgs};
use crate::diag::Diagnostic;
use crate::exec::{exit, play_hosts, RunOptions};
use crate::inventory::Inventory;
use crate::output::{Mode, Printer};
use crate::playbook::{parse::parse_playbook, Item, Playbook};

/// `-e` values: KEY=VALUE words, a YAML/JSON mapping, or @FILE.
pub fn extra_vars(args: &[String]) -> Result<Map<String, Value>, Diagnostic> {
    let mut out = Map::new();
    for a in args {
        if let Some(file) = a.strip_prefix('@') {
            crate::inventory::merge(&mut out, &crate::inventory::dirvars_file(Path::new(file))?);
        } else if a.trim_start().starts_with('{') {
            let docs = crate::yaml::load_str("--extra-vars", a)?;
            match docs.first().map(|d| d.to_json()) {
                Some(Value::Object(m)) => crate::inventory::merge(&mut out, &m),
                _ => return Err(Diagnostic::plain(format!("-e '{a}' is not a mapping"))),
            }
        } else {
            let words = shlex::split(a)
                .ok_or_else(|| Diagnostic::plain(format!("-e '{a}': unbalanced quotes")))?;
            for w in words {
                let (k, v) = w.split_once('=').ok_or_else(|| {
                    Diagnostic::plain(format!("-e '{w}': expected KEY=VALUE"))
                        .help("use -e name=value, -e '{\"name\": 1}' or -e @vars.yml")
                })?;
                out.insert(k.to_string(), Value::String(v.to_string()));
            }
        }
    }
    Ok(out)
}

pub fn load_inventory(sources: &[String]) -> Result<Inventory, Diagnostic> {
    let mut sources = sources.to_vec();
    if sources.is_empty() {
        if let Ok(env) = std::env::var("ANSIBLE_INVENTORY") {
            sources = env.split(',').map(str::to_string).collect();
        }
    }
    Inventory::load(&sources)
}

fn limit_pattern(l: &str) -> Result<String, Diagnostic> {
    match l.strip_prefix('@') {
        Some(file) => {
            let text = std::fs::read_to_string(file)
                .map_err(|e| Diagnostic::plain(format!("--limit @{file}: {e}")))?;
            Ok(text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join(","))
        }
        None => Ok(l.to_string()),
    }
}

/// A password from the environment variable, or asked on the terminal.
fn ask(env: &str, label: &str) -> Option<String> {
    std::env::var(env)
        .ok()
        .or_else(|| crate::secret::prompt(label))
}

fn list_tasks(pb: &Playbook) {
    fn walk(items: &[Item], out: &mut Vec<String>) {
        for i in items {
            match i {
                Item::Task(t) => {
                    let tags = if t.inh.tags.is_empty() {
                        String::new()
                    } else {
                        format!("\tTAGS: [{}]", t.inh.tags.join(", "))
                    };
                    out.push(format!("      {}{tags}", t.display_name()));
                }
                Item::Block(b) => {
                    walk(&b.block, out);
                    walk(&b.rescue, out);
                    walk(&b.always, out);
                }
            }
        }
    }
    println!("\nplaybook: {}", pb.path.display());
    for (i, play) in pb.plays.iter().enumerate() {
        println!("\n  play #{} ({}): {}", i + 1, play.hosts, play.name);
        println!("    tasks:");
        let mut lines = vec![];
        for s in &play.sections {
            walk(s, &mut lines);
        }
        for l in lines {
            println!("{l}");
        }
    }
}

pub fn run(args: RunArgs) -> i32 {
    let bad = |d: &dyn std::fmt::Display| {
        eprint!("{d}");
        exit::BAD_INPUT
    };
    let extra = match extra_vars(&args.extra_vars) {
        Ok(e) => e,
        Err(d) => return bad(&d),
    };
    let inventory = match load_inventory(&args.inventory) {
        Ok(i) => i,
        Err(d) => return bad(&d),
    };
    let limit = match args.limit.as_deref().map(limit_pattern).transpose() {
        Ok(l) => l,
        Err(d) => return bad(&d),
    };
    let mut playbooks = vec![];
    let mut errors = vec![];
    for p in &args.playbooks {
        let path = Path::new(p);
        if !path.is_file() {
            errors.push(
                Diagnostic::plain(format!("the playbook {p} could not be found"))
                    .help("check the path; playbooks are YAML files such as site.yml"),
            );
            continue;
        }
        match parse_playbook(path) {
            Ok(pb) => playbooks.push(pb),
            Err(d) => errors.extend(d.0),
        }
    }
    if !errors.is_empty() {
        let n = errors.len();
        for e in &errors {
            eprintln!("{e}");
        }
        eprintln!(
            "{n} error{} found; nothing was run.",
            if n == 1 { "" } else { "s" }
        );
        return exit::BAD_INPUT;
    }
    if args.syntax_check {
        for pb in &playbooks {
            println!("\nplaybook: {}", pb.path.display());
        }
        return exit::OK;
    }
    if args.list_hosts {
        for pb in &playbooks {
            println!("\nplaybook: {}", pb.path.display());
            for (i, play) in pb.plays.iter().enumerate() {
                let hosts = match play_hosts(&inventory, &play.hosts, limit.as_deref()) {
                    Ok(h) => h,
                    Err(d) => return bad(&d),
                };
                println!(
                    "\n  play #{} ({}): {}\tTAGS: []",
                    i + 1,
                    play.hosts,
                    play.name
                );
                println!("    pattern: ['{}']", play.hosts);
                println!("    hosts ({}):", hosts.len());
                for h in hosts {
                    println!("      {h}");
                }
            }
        }
        return exit::OK;
    }
    if args.list_tasks {
        playbooks.iter().for_each(list_tasks);
        return exit::OK;
    }
    let inventory_dir = args
        .inventory
        .first()
        .map(Path::new)
        .filter(|p| p.exists())
        .map(|p| {
            if p.is_dir() {
                p.to_path_buf()
            } else {
                p.parent().unwrap_or(Path::new(".")).to_path_buf()
            }
        })
        .map(|p| Value::String(p.display().to_string()))
        .unwrap_or(Value::Null);
    let opts = RunOptions {
        check: args.check,
        diff: args.diff,
        forks: args.forks,
        limit,
        extra_vars: extra,
        tags: args.tags,
        skip_tags: args.skip_tags,
        start_at_task: args.start_at_task,
        connect: crate::connection::ConnectOptions {
            forced: args.connection,
            ssh: crate::connection::SshDefaults {
                password: if args.ask_pass {
                    ask("TIMONEL_SSH_PASS", "SSH password: ")
                } else {
                    None
                },
                connect_timeout: args.timeout,
                user: args.user,
            },
        },
        become_: args.become_,
        become_user: args.become_user,
        become_method: args.become_method,
        become_password: if args.ask_become_pass {
            ask("TIMONEL_BECOME_PASS", "BECOME password: ")
        } else {
            None
        },
        retry_files: !args.no_retry_file,
    };
    let mode = if args.output == OutputFormat::Json {
        Mode::Json
    } else {
        Mode::Text
    };
    let printer = Arc::new(Printer::new(args.verbose, mode));
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return exit::ERROR;
        }
    };
    let shared = crate::exec::engine(opts, inventory, printer);
    rt.block_on(async move {
        tokio::select! {
            code = crate::exec::run(shared.clone(), playbooks, inventory_dir) => code,
            _ = tokio::signal::ctrl_c() => crate::exec::interrupted(&shared),
        }
    })
}
