//! What a module may ask of the controller while it runs on a host.

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::Value;
use timonel_modules::{Controller, FileSource, YamlDocument};

use super::play_ctx::PlayCtx;
use crate::output::Event;
use crate::playbook::Task;
use crate::template::to_json;

pub struct TaskController {
    p: Arc<PlayCtx>,
    host: String,
    ctx: minijinja::Value,
    role_path: Option<PathBuf>,
    task_dir: PathBuf,
}

impl TaskController {
    pub fn new(p: Arc<PlayCtx>, host: &str, t: &Task, ctx: minijinja::Value) -> TaskController {
        TaskController {
            host: host.to_string(),
            role_path: t.inh.role.as_ref().map(|r| r.path.clone()),
            task_dir: t
                .pos
                .path()
                .parent()
                .map(|d| d.to_path_buf())
                .unwrap_or_default(),
            ctx,
            p,
        }
    }
}

impl Controller for TaskController {
    fn yaml_documents(&self, text: &str, name: &str) -> Result<Vec<YamlDocument>, String> {
        let docs = crate::yaml::load_str(name, text).map_err(|d| d.to_string())?;
        Ok(docs
            .iter()
            .map(|n| YamlDocument {
                value: n.to_json(),
                line: n.pos.line,
            })
            .collect())
    }

    fn to_yaml(&self, value: &Value) -> String {
        crate::template::yaml_out::to_yaml(value, 2)
    }

    fn find_file(&self, kind: FileSource, name: &str) -> Result<PathBuf, String> {
        let p = std::path::Path::new(name);
        if p.is_absolute() {
            return if p.exists() {
                Ok(p.to_path_buf())
            } else {
                Err(format!("could not find '{name}' on the controller"))
            };
        }
        let sub = match kind {
            FileSource::Files => "files",
            FileSource::Templates => "templates",
        };
        let mut candidates = vec![];
        if let Some(r) = &self.role_path {
            candidates.push(r.join(sub).join(name));
            candidates.push(r.join(name));
        }
        candidates.push(self.task_dir.join(sub).join(name));
        candidates.push(self.task_dir.join("..").join(sub).join(name));
        candidates.push(self.task_dir.join(name));
        candidates.push(self.p.play.dir.join(sub).join(name));
        candidates.push(self.p.play.dir.join(name));
        candidates
            .iter()
            .find(|c| c.exists())
            .cloned()
            .ok_or_else(|| {
                format!(
                    "could not find '{name}' on the controller; searched:\n{}",
                    candidates
                        .iter()
                        .map(|c| format!("  {}", c.display()))
                        .collect::<Vec<_>>()
                        .join("\n")
                )
            })
    }

    fn read_text(&self, path: &std::path::Path) -> Result<String, String> {
        crate::limits::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))
    }

    fn render(&self, source: &str, name: &str) -> Result<String, String> {
        self.p
            .shared
            .templar
            .render_file(source, name, &self.ctx)
            .map_err(|e| format!("{e} (in template {name})"))
    }

    fn eval(&self, expr: &str) -> Result<Value, String> {
        let e = expr.trim();
        let e = e
            .strip_prefix("{{")
            .and_then(|x| x.strip_suffix("}}"))
            .unwrap_or(e);
        match self.p.shared.templar.eval_expr(e, &self.ctx) {
            Ok(v) if v.is_undefined() => Ok(Value::String("VARIABLE IS NOT DEFINED!".into())),
            Ok(v) => to_json(&v).map_err(|e| e.to_string()),
            Err(e) if e.0.contains("undefined") => {
                Ok(Value::String("VARIABLE IS NOT DEFINED!".into()))
            }
            Err(e) => Err(e.0),
        }
    }

    fn inventory_hostname(&self) -> String {
        self.host.clone()
    }

    fn progress(&self, note: &str) {
        self.p.shared.output.send(Event::HostNote {
            host: &self.host,
            note,
        });
    }
}
