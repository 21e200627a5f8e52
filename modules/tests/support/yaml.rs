//! YAML to JSON with saphyr-parser's events, plain scalars resolved the YAML 1.1 way the
//! runner (and Ansible) resolve them: yes/no are booleans, 0644 is octal.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle};
use serde_json::{Map, Number, Value};

pub fn load(text: &str) -> Result<Value, String> {
    let mut events = vec![];
    for ev in Parser::new_from_str(text) {
        let (e, span) =
            ev.map_err(|e| format!("YAML error on line {}: {}", e.marker().line(), e.info()))?;
        events.push((e, span.start.line()));
    }
    let mut l = Loader {
        events,
        i: 0,
        anchors: HashMap::new(),
    };
    while l.i < l.events.len() && !matches!(l.events[l.i].0, Event::DocumentStart(_)) {
        l.i += 1;
    }
    l.i += 1;
    if l.i >= l.events.len() || matches!(l.events[l.i].0, Event::DocumentEnd) {
        return Ok(Value::Null);
    }
    l.node()
}

struct Loader<'a> {
    events: Vec<(Event<'a>, usize)>,
    i: usize,
    anchors: HashMap<usize, Value>,
}

impl Loader<'_> {
    fn node(&mut self) -> Result<Value, String> {
        let (ev, line) = self.events[self.i].clone();
        self.i += 1;
        let (v, anchor) = match ev {
            Event::Scalar(s, style, anchor, tag) => {
                let v = if style == ScalarStyle::Plain && tag.is_none() {
                    plain(&s)
                } else {
                    Value::String(s.to_string())
                };
                (v, anchor)
            }
            Event::Alias(id) => {
                return self
                    .anchors
                    .get(&id)
                    .cloned()
                    .ok_or_else(|| format!("line {line}: alias to an unknown anchor"))
            }
            Event::SequenceStart(anchor, _) => {
                let mut items = vec![];
                while !matches!(self.events[self.i].0, Event::SequenceEnd) {
                    items.push(self.node()?);
                }
                self.i += 1;
                (Value::Array(items), anchor)
            }
            Event::MappingStart(anchor, _) => {
                let mut m = Map::new();
                while !matches!(self.events[self.i].0, Event::MappingEnd) {
                    let k = match self.node()? {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    let v = self.node()?;
                    if m.insert(k.clone(), v).is_some() {
                        return Err(format!("line {line}: duplicate key '{k}'"));
                    }
                }
                self.i += 1;
                (Value::Object(m), anchor)
            }
            other => return Err(format!("line {line}: unexpected YAML event {other:?}")),
        };
        if anchor > 0 {
            self.anchors.insert(anchor, v.clone());
        }
        Ok(v)
    }
}

fn plain(s: &str) -> Value {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return Value::Bool(true)
        }
        "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Value::Bool(false)
        }
        _ => {}
    }
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let int = if let Some(h) = body.strip_prefix("0x") {
        i64::from_str_radix(h, 16).ok()
    } else if body.len() > 1 && body.starts_with('0') {
        i64::from_str_radix(body, 8).ok()
    } else if !body.is_empty() && body.bytes().all(|b| b.is_ascii_digit()) {
        body.parse().ok()
    } else {
        None
    };
    if let Some(i) = int {
        return Value::from(if neg { -i } else { i });
    }
    if body.contains('.')
        && body
            .bytes()
            .all(|b| b.is_ascii_digit() || b"._eE+-".contains(&b))
    {
        if let Some(n) = s.parse::<f64>().ok().and_then(Number::from_f64) {
            return Value::Number(n);
        }
    }
    Value::String(s.to_string())
}
