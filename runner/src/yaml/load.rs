use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use saphyr_parser::{Event, Parser, ScalarStyle, ScanError, Span, StrInput, Tag};

use super::{resolve, Node, Yaml};
use crate::diag::{Diagnostic, Pos, Source};
use crate::limits;

pub fn load_file(path: &Path) -> Result<(Arc<Source>, Vec<Node>), Diagnostic> {
    let src = read_source(path)?;
    let docs = load_src(&src)?.into_iter().map(|(_, d)| d).collect();
    Ok((src, docs))
}

/// A file that must hold one YAML document (a playbook, a task file), as ansible-core reads
/// them: a second document is an error, not silently dropped. `what` names the file's kind.
pub fn load_single_file(
    path: &Path,
    what: &str,
) -> Result<(Arc<Source>, Option<Node>), Diagnostic> {
    let src = read_source(path)?;
    let mut docs = load_src(&src)?.into_iter();
    let first = docs.next().map(|(_, d)| d);
    // An empty document after the first (a stray trailing '---') drops nothing.
    if let Some((start, _)) = docs.find(|(_, d)| !d.is_null()) {
        return Err(Diagnostic::at(
            &start,
            format!(
                "a second YAML document starts here, but {what} must be a single document (ansible-core rejects it too: \"expected a single document in the stream\")"
            ),
        )
        .help(format!(
            "remove the '---' on line {} and merge what follows into the list above it; nothing after it would run",
            start.line
        )));
    }
    Ok((src, first))
}

fn read_source(path: &Path) -> Result<Arc<Source>, Diagnostic> {
    let text = limits::read_file(path)?;
    Ok(Arc::new(Source {
        path: path.to_path_buf(),
        text: lenient(text),
    }))
}

pub fn load_str(name: &str, text: &str) -> Result<Vec<Node>, Diagnostic> {
    let src = Arc::new(Source {
        path: name.into(),
        text: lenient(text.to_string()),
    });
    Ok(load_src(&src)?.into_iter().map(|(_, d)| d).collect())
}

/// PyYAML accepts a flow collection whose lines (typically the closing `}` or `]`) sit at
/// column 0 inside a block mapping; the YAML spec and saphyr don't. When a text fails to
/// parse and has such a line, those lines are indented by one space, which changes no
/// value; the text is kept as it was if that doesn't make it parse.
fn lenient(text: String) -> String {
    let parses = |t: &str| Parser::new_from_str(t).all(|e| e.is_ok());
    if !text.lines().any(|l| l.starts_with(['}', ']'])) || parses(&text) {
        return text;
    }
    let fixed = indent_flow_lines(&text);
    if parses(&fixed) {
        fixed
    } else {
        text
    }
}

/// Every line that starts inside an open flow collection (`{`/`[` outside quotes and
/// comments) and at column 0, indented by one space.
fn indent_flow_lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut depth = 0usize;
    for line in text.split_inclusive('\n') {
        if depth > 0 && !line.starts_with([' ', '\t', '\n', '\r']) {
            out.push(' ');
        }
        out.push_str(line);
        let mut quote: Option<char> = None;
        let mut prev = ' ';
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            match quote {
                Some('"') if c == '\\' => {
                    chars.next();
                }
                Some('\'') if c == '\'' && chars.peek() == Some(&'\'') => {
                    chars.next();
                }
                Some(q) if c == q => quote = None,
                Some(_) => {}
                None => match c {
                    '"' | '\'' => quote = Some(c),
                    '#' if prev.is_whitespace() => break,
                    '{' | '[' => depth += 1,
                    '}' | ']' => depth = depth.saturating_sub(1),
                    _ => {}
                },
            }
            prev = c;
        }
    }
    out
}

struct Loader<'a> {
    src: &'a Arc<Source>,
    /// Events are pulled as the tree is built: a list of them all took about 3 KiB per task of
    /// a large playbook, more than the tree made from them.
    parser: Parser<'a, StrInput<'a>>,
    /// Anchored nodes, with how many nodes each is made of (what an alias to it copies).
    anchors: HashMap<usize, (Node, usize)>,
    /// Nodes built so far, aliases counted as the nodes they copy.
    built: usize,
    /// Nodes copied by aliases so far, and the limit.
    aliased: usize,
    max_aliased: usize,
    /// Collections open around the current node, and the limit.
    depth: usize,
    max_depth: usize,
}

fn syntax_error(src: &Arc<Source>, e: &ScanError) -> Diagnostic {
    let m = e.marker();
    let pos = Pos::new(src, m.line(), m.col() + 1);
    // saphyr counts open flow collections ([ {) in a byte.
    if e.info() == "recursion limit exceeded" {
        return Diagnostic::at(
            &pos,
            "YAML nesting too deep: more than 255 flow collections ([ or {) are open here",
        )
        .help("nest less deeply, or write the inner levels in block style");
    }
    Diagnostic::at(&pos, format!("YAML syntax error: {}", e.info())).help(
        "check the indentation and quoting on this line or the one before it; a value starting with {{ must be quoted",
    )
}

/// The documents of a source, each with where it starts (its `---`, if it has one).
fn load_src(src: &Arc<Source>) -> Result<Vec<(Pos, Node)>, Diagnostic> {
    let mut l = Loader {
        src,
        parser: Parser::new_from_str(&src.text),
        anchors: HashMap::new(),
        built: 0,
        aliased: 0,
        max_aliased: limits::YAML_ALIAS_NODES.get(),
        depth: 0,
        max_depth: limits::YAML_DEPTH.get(),
    };
    let mut docs = Vec::new();
    while let Some((ev, span)) = l.next()? {
        if let Event::DocumentStart(_) = ev {
            let start = l.pos(&span);
            if l.peek_is(|e| matches!(e, Event::DocumentEnd))? {
                l.next()?;
                continue;
            }
            docs.push((start, l.node()?));
        }
    }
    Ok(docs)
}

const CORE: &str = "tag:yaml.org,2002:";

/// A tag as the user wrote it: `!!str`, `!unsafe`.
fn tag_text(t: &Tag) -> String {
    match t.handle.as_str() {
        CORE => format!("!!{}", t.suffix),
        "" if t.suffix == "!" => "!".into(),
        "!" => format!("!{}", t.suffix),
        h => format!("{h}{}", t.suffix),
    }
}

fn unknown_tag(pos: &Pos, t: &Tag, what: &str) -> Diagnostic {
    Diagnostic::at(pos, format!("unknown YAML tag '{}' on {what}", tag_text(t))).help(
        "timonel reads the standard YAML tags (!!str, !!int, !!float, !!bool, !!null, !!seq, !!map, !!set, !!omap, !!binary, !!timestamp) and Ansible's !unsafe; remove the tag (ansible-core rejects it too)",
    )
}

/// A tag on a collection is accepted when it says what the collection already is.
fn check_collection_tag(
    pos: &Pos,
    tag: &Option<std::borrow::Cow<'_, Tag>>,
    seq: bool,
) -> Result<(), Diagnostic> {
    let Some(t) = tag else { return Ok(()) };
    let text = tag_text(t);
    let ok = match text.as_str() {
        "!" | "!unsafe" => true,
        "!!seq" | "!!omap" | "!!pairs" => seq,
        "!!map" | "!!set" => !seq,
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(unknown_tag(
            pos,
            t,
            if seq { "a list" } else { "a mapping" },
        ))
    }
}

/// The value of a tagged scalar.
fn tagged_scalar(pos: &Pos, t: &Tag, v: &str) -> Result<Yaml, Diagnostic> {
    let text = tag_text(t);
    let wrong = |kind: &str| {
        Diagnostic::at(pos, format!("'{v}' is not {kind}, but it is tagged {text}"))
            .help(format!("remove the tag or write {kind}"))
    };
    Ok(match text.as_str() {
        "!vault" | "!vault-encrypted" => {
            return Err(Diagnostic::at(pos, "!vault values are not supported yet")
                .help("decrypt the value or pass it with -e"))
        }
        // `!` alone is YAML's "non-specific" tag: the scalar is a string.
        "!" | "!unsafe" | "!!str" | "!!binary" | "!!timestamp" => Yaml::Str(v.to_string()),
        "!!null" => match resolve::plain(v) {
            Yaml::Null => Yaml::Null,
            _ => return Err(wrong("null")),
        },
        "!!bool" => match resolve::plain(v) {
            b @ Yaml::Bool(_) => b,
            _ => return Err(wrong("a boolean")),
        },
        "!!int" => match resolve::plain(v) {
            i @ Yaml::Int(_) => i,
            _ => return Err(wrong("an integer")),
        },
        "!!float" => match resolve::plain(v) {
            f @ Yaml::Float(_) => f,
            Yaml::Int(i) => Yaml::Float(i as f64),
            _ => return Err(wrong("a number")),
        },
        _ => return Err(unknown_tag(pos, t, "a value")),
    })
}

impl<'a> Loader<'a> {
    fn pos(&self, span: &Span) -> Pos {
        Pos::new(self.src, span.start.line(), span.start.col() + 1)
    }

    /// The next event; None after the stream's end.
    fn next(&mut self) -> Result<Option<(Event<'a>, Span)>, Diagnostic> {
        self.parser
            .next_event()
            .transpose()
            .map_err(|e| syntax_error(self.src, &e))
    }

    /// Whether the next event (not consumed) is one `is` accepts.
    fn peek_is(&mut self, is: impl Fn(&Event<'a>) -> bool) -> Result<bool, Diagnostic> {
        match self.parser.peek() {
            Some(Ok((e, _))) => Ok(is(e)),
            Some(Err(e)) => Err(syntax_error(self.src, &e)),
            None => Ok(false),
        }
    }

    fn node(&mut self) -> Result<Node, Diagnostic> {
        let Some((ev, span)) = self.next()? else {
            let end = self.src.text.lines().count().max(1);
            return Err(Diagnostic::at(
                &Pos::new(self.src, end, 1),
                "YAML ends in the middle of a value",
            ));
        };
        let pos = self.pos(&span);
        let first = self.built;
        self.built += 1;
        if matches!(ev, Event::SequenceStart(..) | Event::MappingStart(..)) {
            self.depth += 1;
            if self.depth > self.max_depth {
                return Err(Diagnostic::at(
                    &pos,
                    format!(
                        "YAML nesting too deep: more than {} levels are open here",
                        self.max_depth
                    ),
                )
                .help(limits::YAML_DEPTH.explain()));
            }
        }
        let (node, anchor) = match ev {
            Event::Scalar(v, style, anchor, tag) => {
                let value = match (&tag, style) {
                    (Some(t), _) => tagged_scalar(&pos, t, &v)?,
                    (_, ScalarStyle::Plain) => resolve::plain(&v),
                    _ => Yaml::Str(v.to_string()),
                };
                (Node { value, pos }, anchor)
            }
            Event::Alias(id) => {
                let (n, size) = self
                    .anchors
                    .get(&id)
                    .cloned()
                    .ok_or_else(|| Diagnostic::at(&pos, "alias to an unknown anchor"))?;
                // An alias is a copy: count what it copies, before a billion of them add up.
                self.built += size - 1;
                self.aliased += size;
                if self.aliased > self.max_aliased {
                    return Err(Diagnostic::at(
                        &pos,
                        format!(
                            "YAML aliases expand to more than {} nodes by this one (a \"billion laughs\" file?)",
                            self.max_aliased
                        ),
                    )
                    .help(limits::YAML_ALIAS_NODES.explain()));
                }
                return Ok(n);
            }
            Event::SequenceStart(anchor, tag) => {
                check_collection_tag(&pos, &tag, true)?;
                let mut items = Vec::new();
                while !self.peek_is(|e| matches!(e, Event::SequenceEnd))? {
                    items.push(self.node()?);
                }
                self.next()?;
                self.depth -= 1;
                // Collections are built by pushing; the spare capacity (most mappings in a
                // playbook have 1 to 3 keys) would be a third of a large file's memory.
                items.shrink_to_fit();
                (
                    Node {
                        value: Yaml::Seq(items),
                        pos,
                    },
                    anchor,
                )
            }
            Event::MappingStart(anchor, tag) => {
                check_collection_tag(&pos, &tag, false)?;
                let mut entries: Vec<(Node, Node)> = Vec::new();
                let mut merged: Vec<(Node, Node)> = Vec::new();
                while !self.peek_is(|e| matches!(e, Event::MappingEnd))? {
                    let is_merge = self.peek_is(
                        |e| matches!(e, Event::Scalar(v, ScalarStyle::Plain, _, None) if v == "<<"),
                    )?;
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
                self.next()?;
                self.depth -= 1;
                for (mk, mv) in merged {
                    if !entries
                        .iter()
                        .any(|(e, _)| e.scalar_text() == mk.scalar_text())
                    {
                        entries.push((mk, mv));
                    }
                }
                entries.shrink_to_fit();
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
            self.anchors
                .insert(anchor, (node.clone(), self.built - first));
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
    fn flow_mapping_closed_at_column_0_as_pyyaml() {
        let docs = load_str("t", "a: {\n    \"x\": [1,\n2\n]\n}\nb: 2\n").unwrap();
        assert_eq!(
            docs[0].to_json(),
            serde_json::json!({"a": {"x": [1, 2]}, "b": 2})
        );
        // A block scalar's braces don't move the lines after it.
        let docs = load_str("t", "s: |\n  {\nb: '}'\n").unwrap();
        assert_eq!(docs[0].to_json(), serde_json::json!({"s": "{\n", "b": "}"}));
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
    fn nesting_and_alias_limits() {
        // The binary loads YAML on threads sized for the limit (limits::main_stack).
        std::thread::Builder::new()
            .stack_size(crate::limits::main_stack())
            .spawn(nesting_and_alias_limits_on_a_big_stack)
            .unwrap()
            .join()
            .unwrap();
    }

    fn nesting_and_alias_limits_on_a_big_stack() {
        let deep = format!("{}x{}", "[".repeat(200), "]".repeat(200));
        assert!(load_str("t.yml", &format!("a: {deep}\n")).is_ok());
        let e = load_str("t.yml", &format!("a:\n  {}x\n", "- ".repeat(600))).unwrap_err();
        assert!(e.message.contains("more than 500 levels"), "{}", e.message);
        assert!(e.help.unwrap().contains("TIMONEL_MAX_YAML_DEPTH"));
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for (prev, name) in ["a", "b", "c", "d", "e", "f", "g"]
            .windows(2)
            .map(|w| (w[0], w[1]))
        {
            bomb.push_str(&format!(
                "{name}: &{name} [{}]\n",
                vec![format!("*{prev}"); 10].join(", ")
            ));
        }
        let e = load_str("t.yml", &bomb).unwrap_err();
        assert!(
            e.message
                .contains("aliases expand to more than 1000000 nodes"),
            "{}",
            e.message
        );
        assert_eq!(e.pos.unwrap().line, 6);
    }

    #[test]
    fn tags() {
        let d = load_str("t.yml", "a: !!int '7'\nb: !!str 7\nc: !unsafe '{{ x }}'\nd: !!float 1\ne: !!map {k: 1}\nf: ! 12\n").unwrap();
        assert_eq!(
            d[0].to_json(),
            serde_json::json!({"a": 7, "b": "7", "c": "{{ x }}", "d": 1.0, "e": {"k": 1}, "f": "12"})
        );
        for (text, msg) in [
            (
                "a: !!python/object:os.system x\n",
                "unknown YAML tag '!!python/object:os.system' on a value",
            ),
            ("a: !!python/name:os.system [x]\n", "on a list"),
            ("a: !!seq {k: 1}\n", "unknown YAML tag '!!seq' on a mapping"),
            ("a: !foo x\n", "unknown YAML tag '!foo'"),
            ("a: !!int x\n", "'x' is not an integer"),
        ] {
            let e = load_str("t.yml", text).unwrap_err();
            assert!(e.message.contains(msg), "{text}: {}", e.message);
        }
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
