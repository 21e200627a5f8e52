//! `timonel run`: load inventory and playbooks, validate everything, then run.

use std::path::Path;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::cli::{OutputFormat, RunArgs};
use crate::diag::Diagnostic;
use crate::exec::{exit, play_hosts, RunOptions};
use crate::inventory::Inventory;
use crate::output::{Mode, Reporters};
use crate::playbook::{parse::flatten_tasks, parse::parse_playbook, Item, Playbook};

/// `-e` values: KEY=VALUE words, a YAML/JSON mapping, or @FILE.
pub fn extra_vars(args: &[String]) -> Result<Map<String, Value>, Diagnostic> {
    let mut out = Map::new();
    for a in args {
        if let Some(file) = a.strip_prefix('@') {
            crate::inventory::combine(&mut out, &crate::inventory::dirvars_file(Path::new(file))?);
        } else if a.trim_start().starts_with('{') {
            let docs = crate::yaml::load_str("--extra-vars", a)?;
            match docs.first().map(|d| d.to_json()) {
                Some(Value::Object(m)) => crate::inventory::combine(&mut out, &m),
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
            let text = crate::limits::read_to_string(Path::new(file))
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

/// `--limit` must leave some host to work on, as in ansible-playbook (which checks it before
/// any play, against the whole inventory).
fn check_limit(inv: &Inventory, raw: &str, pattern: &str) -> Result<(), Diagnostic> {
    let hosts = inv
        .select(pattern)
        .map_err(|e| Diagnostic::plain(e.to_string()))?;
    if !hosts.is_empty() {
        return Ok(());
    }
    let known: Vec<&str> = inv
        .hosts
        .keys()
        .map(String::as_str)
        .chain(inv.groups.keys().map(String::as_str))
        .collect();
    let hint = timonel_modules::spec::suggest(pattern, known.iter().copied())
        .map(|s| format!(" (did you mean '{s}'?)"))
        .unwrap_or_default();
    let shown = if raw == pattern {
        format!("'{raw}'")
    } else {
        format!("{raw} ('{pattern}')")
    };
    Err(Diagnostic::plain(format!(
        "--limit {shown} matches no host{hint}: specified inventory, host pattern and/or --limit leaves us with no hosts to target"
    ))
    .help("the limit is a host pattern: host or group names, globs such as web*, ~regex, joined with , or :; `timonel inventory --graph` shows the inventory"))
}

/// `--start-at-task` must name a task of the playbooks, as in ansible-playbook; tasks in
/// files that include_tasks brings in at run time are not known before they run.
fn check_start_at(playbooks: &[Playbook], want: &str) -> Result<(), Diagnostic> {
    let mut names = vec![];
    for pb in playbooks {
        for play in &pb.plays {
            let mut tasks = vec![];
            for s in &play.sections {
                flatten_tasks(s, &mut tasks);
            }
            for t in tasks {
                if t.starts_at(want) {
                    return Ok(());
                }
                names.push(t.display_name());
            }
        }
    }
    let hint = timonel_modules::spec::suggest(want, names.iter().map(String::as_str))
        .map(|s| format!(" (did you mean '{s}'?)"))
        .unwrap_or_default();
    let files: Vec<String> = playbooks
        .iter()
        .map(|p| p.path.display().to_string())
        .collect();
    Err(Diagnostic::plain(format!(
        "--start-at-task: no matching task \"{want}\" found in {}{hint}",
        files.join(", ")
    ))
    .help("give a task's name exactly (a role's task as 'role : name') or a shell pattern ('*name*'); --start-at-task can only find tasks written in the playbook or imported statically, not those of include_tasks"))
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
                Item::RoleEnd(_) => {}
            }
        }
    }
    crate::outln!("\nplaybook: {}", pb.path.display());
    for (i, play) in pb.plays.iter().enumerate() {
        crate::outln!("\n  play #{} ({}): {}", i + 1, play.hosts, play.name);
        crate::outln!("    tasks:");
        let mut lines = vec![];
        for s in &play.sections {
            walk(s, &mut lines);
        }
        for l in lines {
            crate::outln!("{l}");
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
            Ok(pb) => {
                for w in &pb.warnings {
                    eprintln!("{w}");
                }
                playbooks.push(pb)
            }
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
    if let (Some(raw), Some(pattern)) = (&args.limit, &limit) {
        if let Err(d) = check_limit(&inventory, raw, pattern) {
            return bad(&d);
        }
    }
    if let Some(c) = args.connection.as_deref() {
        if !crate::connection::KINDS.contains(&c) {
            return bad(
                &Diagnostic::plain(format!("-c {c}: unknown connection type '{c}'")).help(format!(
                    "timonel connects with: {}",
                    crate::connection::KINDS.join(", ")
                )),
            );
        }
    }
    if args.syntax_check {
        for pb in &playbooks {
            crate::outln!("\nplaybook: {}", pb.path.display());
        }
        return exit::OK;
    }
    if args.list_hosts {
        for pb in &playbooks {
            crate::outln!("\nplaybook: {}", pb.path.display());
            for (i, play) in pb.plays.iter().enumerate() {
                let hosts = match play_hosts(&inventory, &play.hosts, limit.as_deref(), args.slice)
                {
                    Ok(h) => h,
                    Err(d) => return bad(&d),
                };
                crate::outln!(
                    "\n  play #{} ({}): {}\tTAGS: []",
                    i + 1,
                    play.hosts,
                    play.name
                );
                crate::outln!("    pattern: ['{}']", play.hosts);
                // One write for the list: a line each costs a syscall per host.
                let mut list = format!("    hosts ({}):\n", hosts.len());
                for h in hosts {
                    list.push_str(&format!("      {h}\n"));
                }
                crate::out!("{list}");
            }
        }
        return exit::OK;
    }
    if args.list_tasks {
        playbooks.iter().for_each(list_tasks);
        return exit::OK;
    }
    if let Some(want) = &args.start_at_task {
        if let Err(d) = check_start_at(&playbooks, want) {
            return bad(&d);
        }
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
        slice: args.slice,
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
    let output = Arc::new(Reporters::new(args.verbose, mode));
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(crate::limits::worker_stack())
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return exit::ERROR;
        }
    };
    let shared = crate::exec::engine(opts, inventory, output);
    let code = rt.block_on(async move {
        tokio::select! {
            code = crate::exec::run(shared.clone(), playbooks, inventory_dir) => code,
            _ = interrupt() => {
                let code = crate::exec::interrupted(&shared);
                // Then the commands on SSH hosts: a command without a terminal outlives its
                // connection, which ends with this process.
                crate::connection::ssh::remote_groups::kill_all(
                    std::time::Duration::from_millis(700),
                )
                .await;
                code
            }
        }
    });
    // Tasks still running (an interrupted run) are dropped, which ends their remote
    // commands' channels; nothing waits on them for more than a moment.
    rt.shutdown_timeout(std::time::Duration::from_millis(500));
    code
}

/// Ctrl-C or SIGTERM: both end a run the same way (see `exec::interrupted`).
async fn interrupt() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
}
