//! One play: select its hosts, split them into `serial` batches, and run each batch with a
//! coordinator and one walker per host.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::coordinator::{coordinate, CoordHandle};
use super::host::HostRun;
use super::play_ctx::{groups_var, PlayCtx};
use super::state::Shared;
use crate::diag::Diagnostic;
use crate::inventory::DirVars;
use crate::output::Event;
use crate::playbook::Play;

/// Batch sizes for `serial` (numbers, percentages, or a list of them; the last repeats).
pub fn batches(hosts: &[String], serial: &[Value]) -> Vec<Vec<String>> {
    if serial.is_empty() {
        return vec![hosts.to_vec()];
    }
    let n = hosts.len();
    let size = |v: &Value| -> usize {
        let s = match v {
            Value::Number(x) => x.as_f64().unwrap_or(0.0).to_string(),
            Value::String(s) => s.clone(),
            _ => "0".into(),
        };
        let k = match s.trim().strip_suffix('%') {
            Some(p) => ((p.trim().parse::<f64>().unwrap_or(100.0) / 100.0) * n as f64) as usize,
            None => s.trim().parse::<f64>().unwrap_or(0.0) as usize,
        };
        if k == 0 {
            if s.trim().ends_with('%') {
                1
            } else {
                n
            }
        } else {
            k
        }
    };
    let mut out = vec![];
    let mut i = 0;
    let mut idx = 0;
    while i < n {
        let k = size(&serial[idx.min(serial.len() - 1)]).max(1);
        out.push(hosts[i..(i + k).min(n)].to_vec());
        i += k;
        idx += 1;
    }
    out
}

pub fn load_vars_files(play: &Play, shared: &Shared) -> Result<Map<String, Value>, Diagnostic> {
    let mut out = Map::new();
    let ctx = crate::template::from_json(&Value::Object({
        let mut m = play.vars.clone();
        crate::inventory::merge(&mut m, &shared.opts.extra_vars);
        m
    }));
    for f in &play.vars_files {
        let candidates: Vec<Value> = match f {
            Value::Array(a) => a.clone(),
            other => vec![other.clone()],
        };
        let mut loaded = false;
        for c in &candidates {
            let name = shared
                .templar
                .render_value(c, &ctx)
                .map_err(|e| Diagnostic::at(&play.pos, format!("vars_files: {e}")))?;
            let name = name.as_str().unwrap_or_default().to_string();
            // As Ansible searches (path_dwim_relative_stack): the play's vars/ first.
            let mut paths = vec![];
            if !name.starts_with("vars/") {
                paths.push(play.dir.join("vars").join(&name));
            }
            paths.push(play.dir.join(&name));
            if let Some(path) = paths.into_iter().find(|p| p.is_file()) {
                crate::inventory::combine(&mut out, &crate::inventory::dirvars_file(&path)?);
                loaded = true;
                break;
            }
        }
        if !loaded {
            return Err(Diagnostic::at(
                &play.pos,
                format!("vars_files: could not find {}", Value::Array(candidates)),
            )
            .help(format!("paths are relative to {}", play.dir.display())));
        }
    }
    Ok(out)
}

/// The play's name as shown, templated with play and extra vars as Ansible does; a name
/// that can't be rendered is shown as written.
fn play_name(shared: &Shared, play: &Play) -> String {
    if !crate::template::is_template(&play.name) {
        return play.name.clone();
    }
    let mut vars = play.vars.clone();
    crate::inventory::merge(&mut vars, &shared.opts.extra_vars);
    let ctx = crate::template::from_json(&Value::Object(vars));
    match shared.templar.render_string(&play.name, &ctx) {
        Ok(Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => play.name.clone(),
    }
}

/// The play's `hosts:`, templated with play and extra vars (`hosts: "{{ target }}"`).
pub fn host_pattern(shared: &Shared, play: &Play) -> Result<String, Diagnostic> {
    if !crate::template::is_template(&play.hosts) {
        return Ok(play.hosts.clone());
    }
    let mut vars = play.vars.clone();
    crate::inventory::merge(&mut vars, &shared.opts.extra_vars);
    let ctx = crate::template::from_json(&Value::Object(vars));
    match shared.templar.render_string(&play.hosts, &ctx) {
        Ok(Value::String(s)) => Ok(s),
        Ok(Value::Array(a)) => Ok(a
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(",")),
        Ok(other) => Ok(other.to_string()),
        Err(e) => Err(Diagnostic::at(&play.pos, format!("hosts: {e}"))
            .help("hosts can use play vars and extra vars (-e)")),
    }
}

/// The play's hosts in the order its `order:` keyword asks for (templated with play and
/// extra vars, as `hosts:` is).
pub fn order_hosts(
    shared: &Shared,
    play: &Play,
    mut hosts: Vec<String>,
) -> Result<Vec<String>, Diagnostic> {
    let Some(raw) = &play.order else {
        return Ok(hosts);
    };
    let mut vars = play.vars.clone();
    crate::inventory::merge(&mut vars, &shared.opts.extra_vars);
    let ctx = crate::template::from_json(&Value::Object(vars));
    let order = match shared.templar.render_string(raw, &ctx) {
        Ok(Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(e) => return Err(Diagnostic::at(&play.pos, format!("order: {e}"))),
    };
    match order.as_str() {
        "inventory" => {}
        "reverse_inventory" => hosts.reverse(),
        "sorted" => hosts.sort(),
        "reverse_sorted" => {
            hosts.sort();
            hosts.reverse();
        }
        "shuffle" => {
            use rand::seq::SliceRandom;
            hosts.shuffle(&mut rand::rng());
        }
        other => {
            return Err(
                Diagnostic::at(&play.pos, format!("order: '{other}' is not a host order"))
                    .help("one of inventory, reverse_inventory, sorted, reverse_sorted, shuffle"),
            )
        }
    }
    Ok(hosts)
}

/// Runs a play; returns false when the run must stop (a batch was aborted).
pub async fn run_play(
    shared: Arc<Shared>,
    play: Arc<Play>,
    pb_vars: DirVars,
    hosts: Vec<String>,
    inventory_dir: Value,
) -> Result<bool, Diagnostic> {
    shared.output.send(Event::PlayStart {
        name: &play_name(&shared, &play),
    });
    if hosts.is_empty() {
        shared.output.send(Event::NoHosts);
        return Ok(true);
    }
    let vars_files = load_vars_files(&play, &shared)?;
    let groups = groups_var(&shared.inventory.read().expect("inventory lock"));
    for batch in batches(&hosts, &play.serial) {
        let ctx = Arc::new(PlayCtx::new(
            shared.clone(),
            play.clone(),
            pb_vars.clone(),
            vars_files.clone(),
            groups.clone(),
            hosts.clone(),
            batch.clone(),
            inventory_dir.clone(),
        ));
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let mut handles = vec![];
        for (i, h) in batch.iter().enumerate() {
            let run = HostRun::new(
                ctx.clone(),
                h.clone(),
                CoordHandle {
                    tx: tx.clone(),
                    host: i,
                },
            );
            handles.push(tokio::spawn(run.run()));
        }
        drop(tx);
        let abort_ctx = ctx.clone();
        let size = batch.len();
        let max_fail = play.max_fail_percentage;
        let should_abort = move || {
            if abort_ctx.ended.load(Ordering::SeqCst) {
                return true;
            }
            match max_fail {
                Some(pct) => {
                    abort_ctx.failed_in_batch.load(Ordering::SeqCst) as f64 * 100.0 / size as f64
                        > pct
                }
                None => false,
            }
        };
        coordinate(
            rx,
            batch.len(),
            play.strategy == "free",
            shared.output.clone(),
            should_abort.clone(),
            || std::mem::take(&mut *ctx.fatal.lock().expect("fatal lock")),
        )
        .await;
        for (h, host) in handles.into_iter().zip(batch.iter()) {
            if let Err(e) = h.await {
                internal_error(&shared, host, e);
            }
        }
        if ctx.ended.load(Ordering::SeqCst) && !ctx.batch_ended.load(Ordering::SeqCst) {
            return Ok(true);
        }
        let failed = ctx.failed_in_batch.load(Ordering::SeqCst);
        if max_fail.is_some() && should_abort() {
            shared.run_failed.store(true, Ordering::SeqCst);
            let why = "max_fail_percentage";
            shared.output.send(Event::NoMoreHosts { why, failed, size });
            return Ok(false);
        }
        if failed == size {
            // Ansible stops the playbook when a whole batch failed (any_errors_fatal fails
            // them all), a rolling update as a single batch.
            return Ok(false);
        }
    }
    Ok(true)
}

/// A host whose run panicked (a bug in timonel): reported as that host's failure, so the
/// recap and the exit code say so instead of the run ending as if all went well.
fn internal_error(shared: &Shared, host: &str, e: tokio::task::JoinError) {
    let why = if e.is_panic() {
        let p = e.into_panic();
        p.downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into())
    } else {
        e.to_string()
    };
    shared.with_host(host, |s| s.failed = true);
    shared.stats(host, |s| s.failed += 1);
    shared.output.send(Event::InternalError { host, why: &why });
}

#[cfg(test)]
mod tests {
    use super::batches;
    use serde_json::json;

    #[test]
    fn serial_batches() {
        let h: Vec<String> = (1..=5).map(|i| format!("h{i}")).collect();
        assert_eq!(
            batches(&h, &[json!(2)])
                .iter()
                .map(Vec::len)
                .collect::<Vec<_>>(),
            [2, 2, 1]
        );
        assert_eq!(
            batches(&h, &[json!(1), json!("50%")])
                .iter()
                .map(Vec::len)
                .collect::<Vec<_>>(),
            [1, 2, 2]
        );
        assert_eq!(batches(&h, &[]).len(), 1);
    }
}
