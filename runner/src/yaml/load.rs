use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

use super::{resolve, Node, Yaml};
use crate::diag::{Diagnostic, Pos, Source};

pub fn load_file(path: &Path) -> Result<(Arc<Source>, Vec<Node>), Diagnostic> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Diagnostic::plain(format!("cannot read {}: {e}", path.display())))?;
    let src = Arc::new(Source {
        path: path.to_path_buf(),
        text,
    });
    let docs = load_src(&src)?;
    Ok((src, docs))
}

pub fn load_str(name: &str, text: &str) -> Result<Vec<Node>, Diagnostic> {
    let src = Arc::new(Source {
        path: name.into(),
        text: text.to_string(),
    });
    load_src(&src)
}

struct Loader<'a> {
    src: &'a Arc<Source>,
    events: Vec<(Event<'a>, Span)>,
    i: usize,
    anchors: HashMap<usize, Node>,
}

fn load_src(src: &Arc<Source>) -> Result<Vec<Node>, Diagnostic> {
    let mut events = Vec::new();
    for ev in Parser::new_from_str(&src.text) {
        match ev {
            Ok(e) => events.push(e),
            Err(e) => {
                let m = e.marker();
                return Err(Diagnostic::at(
                    &Pos::new(src, m.line(), m.col() + 1),
                    format!("YAML syntax error: {}", e.info()),
                )
                .help("check the indentation and quoting on this line or the one before it; a value starting with {{ must be quoted"));
            }
        }
    }
    let mut l = Loader {
        src,
        events,
        i: 0,
        anchors: HashMap::new(),
    };
    let mut docs = Vec::new();
    while l.i < l.events.len() {
        match &l.events[l.i].0 {
            Event::DocumentStart(_) => {
                l.i += 1;
                if matches!(l.events.get(l.i).map(|e| &e.0), Some(Event::DocumentEnd)) {
                    l.i += 1;
                    continue;
                }
                docs.push(l.node()?);
            }
            _ => l.i += 1,
        }
    }
    Ok(docs)
}

impl<'a> Loader<'a> {
    fn pos(&self, span: &Span) -> Pos {
        Pos::new(self.src, span.start.line(), span.start.col() + 1)
    }

    fn node(&mut self) -> Result<Node, Diagnostic> {
        let (ev, span) = self.events[self.i].clone();
        self.i += 1;
        let pos = self.pos(&span);
        let (node, anchor) = match ev {
            Event::Scalar(v, style, anchor, tag) => {
                let value = match (&tag, style) {
                    (Some(t), _) if t.handle == "!" && t.suffix == "vault" => {
                        return Err(Diagnostic::at(&pos, "!vault values are not supported yet")
                            .help("decrypt the value or pass it with -e"));
                    }
                    (Some(t), _)
                        if t.suffix == "str"
                            || t.suffix == "unsafe"
                            || t.suffix.ends_with(":str") =>
                    {
                        Yaml::Str(v.to_string())
                    }
                    (_, ScalarStyle::Plain) => resolve::plain(&v),
                    _ => Yaml::Str(v.to_string()),
                };
                (Node { value, pos }, anchor)
            }
            Event::Alias(id) => {
                let n = self
                    .anchors
                    .get(&id)
                    .cloned()
                    .ok_or_else(|| Diagnostic::at(&pos, "alias to an unknown anchor"))?;
                return Ok(n);
            }
            Event::SequenceStart(anchor, _) => {
                let mut items = Vec::new();
                while !matches!(self.events[self.i].0, Event::SequenceEnd) {
                    items.push(self.node()?);
                }
                self.i += 1;
                (
                    Node {
                        value: Yaml::Seq(items),
                        pos,
                    },
                    anchor,
                )
            }
            Event::MappingStart(anchor, _) => {
                let mut entries: Vec<(Node, Node)> = Vec::new();
                let mut merged: Vec<(Node, Node)> = Vec::new();
                while !matches!(self.events[self.i].0, Event::MappingEnd) {
                    let is_merge = matches!(&self.events[self.i].0, Event::Scalar(v, ScalarStyle::Plain, _, None) if v == "<<");
                    let k = self.node()?;
                    let v = self.node()?;
                    if is_merge {
                        let sources: Vec<&Node> = match &v.value {
                            Yaml::Map(_) => vec![&v],
                            Yaml::Seq(s) => s.iter().collect(),
                            _ => {
                                return Err(Diagnostic::at(
                                    &v.pos,
                                    "a merge key (<<) needs a mapping or a list of mappings",
                                ))
                            }
                        };
                        for s in sources {
                            for (mk, mv) in s.as_map().ok_or_else(|| {
                                Diagnostic::at(&s.pos, "a merge key (<<) needs mappings")
                            })? {
                                let key = mk.scalar_text();
                                if !merged.iter().any(|(e, _)| e.scalar_text() == key) {
                                    merged.push((mk.clone(), mv.clone()));
                                }
                            }
                        }
                        continue;
                    }
                    if let Some((prev, _)) = entries.iter().find(|(e, _)| {
                        e.scalar_text().is_some() && e.scalar_text() == k.scalar_text()
                    }) {
                        return Err(Diagnostic::at(
                            &k.pos,
                            format!(
                                "duplicate key '{}' (first defined on line {})",
                                k.scalar_text().unwrap_or_default(),
                                prev.pos.line
                            ),
                        )
                        .help("remove one of the two; YAML keeps only one value per key"));
                    }
                    entries.push((k, v));
                }
                self.i += 1;
                for (mk, mv) in merged {
                    if !entries
                        .iter()
                        .any(|(e, _)| e.scalar_text() == mk.scalar_text())
                    {
                        entries.push((mk, mv));
                    }
                }
                (
                    Node {
                        value: Yaml::Map(entries),
                        pos,
                    },
                    anchor,
                )
            }
            other => {
                return Err(Diagnostic::at(
                    &pos,
                    format!("unexpected YAML event {other:?}"),
                ))
            }
        };
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
        Ok(node)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_keys_and_positions() {
        let docs = load_str("t.yml", "base: &b\n  a: 1\n  b: 2\nx:\n  <<: *b\n  b: 3\n").unwrap();
        let x = docs[0].get("x").unwrap().to_json();
        assert_eq!(x, serde_json::json!({"b": 3, "a": 1}));
        assert_eq!(docs[0].get("x").unwrap().pos.line, 5);
    }

    #[test]
    fn duplicate_key_is_an_error() {
        let e = load_str("t.yml", "a: 1\nb: 2\na: 3\n").unwrap_err();
        assert!(
            e.message
                .contains("duplicate key 'a' (first defined on line 1)"),
            "{}",
            e.message
        );
        assert_eq!(e.pos.unwrap().line, 3);
    }

    #[test]
    fn syntax_error_has_position() {
        let e = load_str("t.yml", "a:\n  - b\n c: [\n").unwrap_err();
        assert!(e.pos.is_some());
    }

    #[test]
    fn quoted_stays_string() {
        let d = load_str("t.yml", "a: '0644'\nb: 0644\nc: \"yes\"\nd: yes\n").unwrap();
        assert_eq!(
            d[0].to_json(),
            serde_json::json!({"a": "0644", "b": 420, "c": "yes", "d": true})
        );
    }
}
