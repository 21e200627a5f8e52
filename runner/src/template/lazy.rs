//! Variables as a Jinja object that templates a value when it is first looked up, so
//! `a: "{{ b }}/x"` sees `b` at use time and unused broken variables cost nothing.

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use minijinja::value::{Enumerator, Object, ObjectRepr};
use minijinja::{ErrorKind, Value};
use serde_json::{Map, Value as Json};

use super::{from_json, is_template, Templar};

thread_local! {
    static DEPTH: Cell<usize> = const { Cell::new(0) };
}

/// The key under which a variable map lists the names whose values are data: results a
/// host or a module produced (registered results, set_fact, facts, loop items). Data is
/// never templated again, so a host's output can't run templates on the controller. No
/// variable can have this name.
pub const DATA_NAMES: &str = "\u{0}data";

/// Marks `name` in `vars` as data (see [`DATA_NAMES`]).
pub fn mark_data(vars: &mut Map<String, Json>, name: &str) {
    let list = vars
        .entry(DATA_NAMES)
        .or_insert_with(|| Json::Array(vec![]));
    if let Json::Array(names) = list {
        if !names.iter().any(|n| n == name) {
            names.push(Json::String(name.to_string()));
        }
    }
}

pub struct LazyVars {
    vars: Arc<Map<String, Json>>,
    data: std::collections::HashSet<String>,
    templar: Arc<Templar>,
    extra: HashMap<String, Value>,
    cache: Mutex<HashMap<String, Value>>,
}

impl std::fmt::Debug for LazyVars {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.vars.iter()).finish()
    }
}

impl LazyVars {
    /// `extra` holds values that are already Jinja values (hostvars, lookups' helpers).
    pub fn new(
        vars: Arc<Map<String, Json>>,
        templar: Arc<Templar>,
        extra: HashMap<String, Value>,
    ) -> Arc<LazyVars> {
        let data = match vars.get(DATA_NAMES) {
            Some(Json::Array(names)) => names
                .iter()
                .filter_map(|n| n.as_str().map(str::to_string))
                .collect(),
            _ => Default::default(),
        };
        Arc::new(LazyVars {
            vars,
            data,
            templar,
            extra,
            cache: Mutex::new(HashMap::new()),
        })
    }

    pub fn value(self: &Arc<Self>) -> Value {
        Value::from_dyn_object(self.clone())
    }
}

fn has_template(v: &Json) -> bool {
    match v {
        Json::String(s) => is_template(s),
        Json::Array(a) => a.iter().any(has_template),
        Json::Object(m) => m.iter().any(|(k, v)| is_template(k) || has_template(v)),
        _ => false,
    }
}

impl Object for LazyVars {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let k = key.as_str()?;
        if let Some(v) = self.extra.get(k) {
            return Some(v.clone());
        }
        if k == DATA_NAMES {
            return None;
        }
        let raw = self.vars.get(k)?;
        if !has_template(raw) || self.data.contains(k) {
            return Some(from_json(raw));
        }
        if let Some(v) = self.cache.lock().ok()?.get(k) {
            return Some(v.clone());
        }
        let depth = DEPTH.with(|d| {
            d.set(d.get() + 1);
            d.get()
        });
        let result = if depth > 40 {
            Value::from(minijinja::Error::new(
                ErrorKind::InvalidOperation,
                format!("recursive loop detected in template of variable '{k}'"),
            ))
        } else {
            match self.templar.render_value(raw, &self.value()) {
                Ok(v) => from_json(&v),
                Err(e) => Value::from(minijinja::Error::new(
                    ErrorKind::InvalidOperation,
                    format!("in variable '{k}': {}", e.0),
                )),
            }
        };
        DEPTH.with(|d| d.set(d.get() - 1));
        if let Ok(mut c) = self.cache.lock() {
            c.insert(k.to_string(), result.clone());
        }
        Some(result)
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        let keys: Vec<Value> = self
            .vars
            .keys()
            .filter(|k| *k != DATA_NAMES)
            .map(|k| Value::from(k.as_str()))
            .chain(self.extra.keys().map(|k| Value::from(k.as_str())))
            .collect();
        Enumerator::Values(keys)
    }
}
