//! Loop items for `loop` and the `with_*` forms.

use serde_json::{json, Map, Value};

use super::play_ctx::PlayCtx;
use crate::playbook::Task;

fn describe(v: &Value) -> String {
    match v {
        Value::String(s) => format!("'{s}'"),
        other => other.to_string(),
    }
}

/// A `with_*` value as the lookup's terms: a list, or one term.
fn listify(v: Value) -> Vec<Value> {
    match v {
        Value::Array(a) => a,
        other => vec![other],
    }
}

/// Ansible's `LookupBase._flatten`: lists among the terms are spliced in, one level deep.
fn flatten_once(terms: Vec<Value>) -> Vec<Value> {
    terms
        .into_iter()
        .flat_map(|t| match t {
            Value::Array(a) => a,
            other => vec![other],
        })
        .collect()
}

/// Why a task's loop has no items.
#[derive(Debug)]
pub struct ItemsError {
    pub msg: String,
    /// The loop's value uses an undefined variable: as in Ansible, the task then fails only
    /// if its `when` (evaluated without an item) doesn't skip it.
    pub undefined: bool,
}

impl std::fmt::Display for ItemsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.msg)
    }
}

pub fn items(p: &PlayCtx, t: &Task, ctx: &minijinja::Value) -> Result<Vec<Value>, ItemsError> {
    let raw = t.loop_.clone().unwrap_or(Value::Null);
    let v = p
        .shared
        .templar
        .render_value(&raw, ctx)
        .map_err(|e| ItemsError {
            undefined: e.is_undefined(),
            msg: format!("{e} (in the loop of this task)"),
        })?;
    shape(p, t, v, ctx).map_err(|msg| ItemsError {
        msg,
        undefined: false,
    })
}

/// What `loop_control.extended` asks for: `ansible_loop`, with `allitems` or without.
#[derive(Debug, Clone, Copy)]
pub struct Extended {
    pub on: bool,
    pub allitems: bool,
}

pub fn extended(p: &PlayCtx, t: &Task, ctx: &minijinja::Value) -> Result<Extended, String> {
    use super::conditions::bool_of;
    Ok(Extended {
        on: bool_of(p, &t.loop_extended, ctx)?.unwrap_or(false),
        allitems: bool_of(p, &t.loop_extended_allitems, ctx)?.unwrap_or(true),
    })
}

/// The variables item `i` adds to the task's, which its result carries too (Ansible's
/// `_run_loop`): the item under `loop_var`, `ansible_loop_var`, the index under
/// `index_var` with `ansible_index_var`, and `ansible_loop` when the loop is extended.
pub fn item_vars(t: &Task, items: &[Value], i: usize, ext: Extended) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert(t.loop_var.clone(), items[i].clone());
    m.insert("ansible_loop_var".into(), Value::String(t.loop_var.clone()));
    if let Some(ix) = &t.index_var {
        m.insert(ix.clone(), Value::from(i));
        m.insert("ansible_index_var".into(), Value::String(ix.clone()));
    }
    if ext.on {
        let n = items.len();
        let mut l = Map::new();
        for (k, v) in [
            ("index", i + 1),
            ("index0", i),
            ("length", n),
            ("revindex", n - i),
            ("revindex0", n - i - 1),
        ] {
            l.insert(k.into(), Value::from(v));
        }
        l.insert("first".into(), Value::Bool(i == 0));
        l.insert("last".into(), Value::Bool(i + 1 == n));
        if ext.allitems {
            l.insert("allitems".into(), Value::Array(items.to_vec()));
        }
        if let Some(next) = items.get(i + 1) {
            l.insert("nextitem".into(), next.clone());
        }
        if let Some(prev) = i.checked_sub(1).and_then(|j| items.get(j)) {
            l.insert("previtem".into(), prev.clone());
        }
        m.insert("ansible_loop".into(), Value::Object(l));
    }
    m
}

/// The loop's templated value shaped into items by its kind (`loop`, `with_*`).
fn shape(p: &PlayCtx, t: &Task, v: Value, ctx: &minijinja::Value) -> Result<Vec<Value>, String> {
    let list = |v: Value| -> Result<Vec<Value>, String> {
        match v {
            Value::Array(a) => Ok(a),
            Value::Null => Ok(vec![]),
            other => Err(format!(
                "'{}' needs a list, got {}; if you meant one item, write it as a list ([...])",
                t.loop_kind,
                describe(&other)
            )),
        }
    };
    Ok(match t.loop_kind.as_str() {
        "loop" | "with_list" => list(v)?,
        "with_items" => match v {
            Value::Array(a) => a
                .into_iter()
                .flat_map(|x| {
                    if let Value::Array(inner) = x {
                        inner
                    } else {
                        vec![x]
                    }
                })
                .collect(),
            Value::Null => vec![],
            other => vec![other],
        },
        "with_dict" => match v {
            Value::Object(m) => m
                .into_iter()
                .map(|(k, v)| json!({"key": k, "value": v}))
                .collect(),
            other => {
                return Err(format!(
                    "with_dict needs a mapping, got {}",
                    describe(&other)
                ))
            }
        },
        // The with_* lookups get their value as a list of terms (one value is one term).
        "with_indexed_items" => flatten_once(listify(v))
            .into_iter()
            .enumerate()
            .map(|(i, x)| json!([i, x]))
            .collect(),
        "with_together" => {
            let lists: Vec<Vec<Value>> = listify(v)
                .into_iter()
                .map(|l| if let Value::Array(a) = l { a } else { vec![l] })
                .collect();
            if lists.is_empty() {
                return Err("with_together requires at least one element in each list".into());
            }
            let n = lists.iter().map(Vec::len).max().unwrap_or(0);
            (0..n)
                .map(|i| {
                    Value::Array(flatten_once(
                        lists
                            .iter()
                            .map(|l| l.get(i).cloned().unwrap_or(Value::Null))
                            .collect(),
                    ))
                })
                .collect()
        }
        "with_subelements" => crate::template::subelements(&listify(v))?,
        "with_random_choice" => {
            let terms = listify(v);
            match terms.len() {
                0 => terms,
                n => vec![terms[rand::random_range(0..n)].clone()],
            }
        }
        "with_nested" => {
            let lists: Vec<Vec<Value>> = list(v)?
                .into_iter()
                .map(|l| if let Value::Array(a) = l { a } else { vec![l] })
                .collect();
            let mut acc: Vec<Vec<Value>> = vec![vec![]];
            for l in lists {
                acc = acc
                    .into_iter()
                    .flat_map(|prefix| {
                        l.iter().map(move |x| {
                            let mut p = prefix.clone();
                            p.push(x.clone());
                            p
                        })
                    })
                    .collect();
            }
            acc.into_iter().map(Value::Array).collect()
        }
        "with_sequence" | "with_fileglob" => {
            let name = &t.loop_kind["with_".len()..];
            via_lookup(p, name, listify(v), ctx)?
        }
        "with_first_found" => {
            use crate::template::first_found::{first, search_list, subdir_for};
            let (names, skip) = search_list(&list(v)?, &[], &[], false);
            let bases: Vec<_> = t
                .inh
                .role
                .iter()
                .map(|r| r.path.clone())
                .chain([p.play.dir.clone()])
                .collect();
            match first(&names, &bases, subdir_for(t.action.name())) {
                Some(f) => vec![Value::String(f.display().to_string())],
                None if skip => vec![],
                None => {
                    return Err(format!(
                        "with_first_found: none of these files was found: {}",
                        names.join(", ")
                    ))
                }
            }
        }
        "with_lines" => {
            let cmd = v.as_str().unwrap_or_default().to_string();
            let out = lines_of(&cmd)?;
            String::from_utf8_lossy(&out)
                .lines()
                .map(|l| Value::String(l.to_string()))
                .collect()
        }
        "with_inventory_hostnames" => {
            let pat = v.as_str().unwrap_or("all").to_string();
            let inv = p.shared.inventory.read().map_err(|e| e.to_string())?;
            inv.select(&pat)
                .map_err(|e| e.to_string())?
                .into_iter()
                .map(Value::String)
                .collect()
        }
        other => {
            return Err(format!(
                "'{other}' is not supported; use loop with a filter instead"
            ))
        }
    })
}

/// The items of lookup `name` given `terms`, as `query(name, *terms)` in a template.
fn via_lookup(
    p: &PlayCtx,
    name: &str,
    terms: Vec<Value>,
    ctx: &minijinja::Value,
) -> Result<Vec<Value>, String> {
    let local =
        minijinja::context! { __loop_terms => crate::template::from_json(&Value::Array(terms)) };
    // The last map that has a key wins: the terms, whatever the task's variables hold.
    let ctx = minijinja::value::merge_maps([ctx.clone(), local]);
    let expr = format!("query('{name}', *__loop_terms)");
    let r = p.shared.templar.eval_expr(&expr, &ctx).map_err(|e| e.0)?;
    match crate::template::to_json(&r).map_err(|e| e.to_string())? {
        Value::Array(a) => Ok(a),
        other => Ok(vec![other]),
    }
}

/// The output of `with_lines`' command, at most the controller's limit on file reads (a
/// command printing without end fails instead of filling memory).
fn lines_of(cmd: &str) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let max = crate::limits::FILE_SIZE.get();
    let mut child = std::process::Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("with_lines: cannot run {cmd}: {e}"))?;
    let mut out = Vec::new();
    let read = child
        .stdout
        .take()
        .map(|s| s.take(max as u64 + 1).read_to_end(&mut out));
    if out.len() > max {
        let _ = child.kill();
        let _ = child.wait();
        return Err(format!(
            "with_lines: the output of {cmd} is larger than {max} bytes ({})",
            crate::limits::FILE_SIZE.explain()
        ));
    }
    let _ = child.wait();
    if let Some(Err(e)) = read {
        return Err(format!("with_lines: cannot read the output of {cmd}: {e}"));
    }
    Ok(out)
}
