//! Loop items for `loop` and the `with_*` forms.

use serde_json::{json, Value};

use super::play_ctx::PlayCtx;
use crate::playbook::Task;

fn describe(v: &Value) -> String {
    match v {
        Value::String(s) => format!("'{s}'"),
        other => other.to_string(),
    }
}

pub fn items(p: &PlayCtx, t: &Task, ctx: &minijinja::Value) -> Result<Vec<Value>, String> {
    let raw = t.loop_.clone().unwrap_or(Value::Null);
    let v = p
        .shared
        .templar
        .render_value(&raw, ctx)
        .map_err(|e| format!("{e} (in the loop of this task)"))?;
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
        "with_indexed_items" => list(v)?
            .into_iter()
            .enumerate()
            .map(|(i, x)| json!([i, x]))
            .collect(),
        "with_together" => {
            let lists: Vec<Vec<Value>> = list(v)?
                .into_iter()
                .map(|l| if let Value::Array(a) = l { a } else { vec![l] })
                .collect();
            let n = lists.iter().map(Vec::len).max().unwrap_or(0);
            (0..n)
                .map(|i| {
                    Value::Array(
                        lists
                            .iter()
                            .map(|l| l.get(i).cloned().unwrap_or(Value::Null))
                            .collect(),
                    )
                })
                .collect()
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
        "with_sequence" => {
            let spec = match v {
                Value::String(s) => s,
                other => other.to_string(),
            };
            let expr = format!(
                "query('sequence', {})",
                serde_json::to_string(&spec).unwrap_or_default()
            );
            let r = p.shared.templar.eval_expr(&expr, ctx).map_err(|e| e.0)?;
            crate::template::to_json(&r)
                .map_err(|e| e.to_string())
                .and_then(list)?
        }
        "with_fileglob" => {
            let mut out = vec![];
            for pat in list(if v.is_string() {
                Value::Array(vec![v])
            } else {
                v
            })? {
                let pat = pat.as_str().unwrap_or_default().to_string();
                let path = if pat.starts_with('/') {
                    std::path::PathBuf::from(&pat)
                } else {
                    p.play.dir.join("files").join(&pat)
                };
                let dir = path.parent().map(|d| d.to_path_buf()).unwrap_or_default();
                let name = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or("*")
                    .to_string();
                let re = regex::Regex::new(&format!(
                    "^{}$",
                    regex::escape(&name)
                        .replace(r"\*", ".*")
                        .replace(r"\?", ".")
                ))
                .map_err(|e| e.to_string())?;
                let mut found: Vec<String> = std::fs::read_dir(&dir)
                    .map(|rd| {
                        rd.filter_map(|e| e.ok())
                            .filter(|e| {
                                e.path().is_file() && re.is_match(&e.file_name().to_string_lossy())
                            })
                            .map(|e| e.path().display().to_string())
                            .collect()
                    })
                    .unwrap_or_default();
                found.sort();
                out.extend(found.into_iter().map(Value::String));
            }
            out
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
