//! Objects as the API returns them, and what every user of them reads the same way.

use serde_json::{Map, Value};

/// An object the API returned. `obj["key"]` is null when the API left a documented key out
/// (a plain map's index would panic); everything else is the map's.
#[derive(Debug, Clone, PartialEq)]
pub struct Obj(pub Map<String, Value>);

impl std::ops::Index<&str> for Obj {
    type Output = Value;
    fn index(&self, key: &str) -> &Value {
        self.0.get(key).unwrap_or(&Value::Null)
    }
}

impl std::ops::DerefMut for Obj {
    fn deref_mut(&mut self) -> &mut Map<String, Value> {
        &mut self.0
    }
}

impl std::ops::Deref for Obj {
    type Target = Map<String, Value>;
    fn deref(&self) -> &Map<String, Value> {
        &self.0
    }
}

/// A server's location: `location`, or the deprecated `datacenter.location`.
pub fn location(s: &Value) -> Value {
    match &s["location"]["name"] {
        Value::Null => s["datacenter"]["location"]["name"].clone(),
        v => v.clone(),
    }
}
