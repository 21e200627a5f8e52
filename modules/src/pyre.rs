//! Regular expressions as Python's `re` reads them (Ansible's regexp arguments and regex_*
//! filters): backreferences (`\1`, `(?P=name)`), lookaround, `\Z`, and `$` matching before a
//! final newline. Built on fancy-regex, which delegates what it can to the regex crate.

use std::borrow::Cow;

pub use fancy_regex::{Captures, Match};

/// Steps a pattern may take before a match is given up as too costly (catastrophic
/// backtracking on a host's file must not hang the run).
const BACKTRACK_LIMIT: usize = 1_000_000;

/// Python's flags for a pattern.
#[derive(Debug, Clone, Copy, Default)]
pub struct Flags {
    pub ignorecase: bool,
    pub multiline: bool,
    pub dotall: bool,
}

/// A pattern error in the words of Python's `re.error` where it has them ("nothing to
/// repeat at position 0"), which playbooks and Ansible's messages quote.
fn python_error(e: &fancy_regex::Error) -> String {
    use fancy_regex::ParseError as P;
    let fancy_regex::Error::ParseError(pos, kind) = e else {
        return e.to_string();
    };
    let what = match kind {
        P::TargetNotRepeatable | P::InvalidRepeat => "nothing to repeat",
        P::UnclosedOpenParen => "missing ), unterminated subpattern",
        P::TrailingBackslash => "bad escape (end of pattern)",
        P::InvalidClass => "unterminated character set",
        P::InvalidGroupName => "bad character in group name",
        _ => return e.to_string(),
    };
    format!("{what} at position {pos}")
}

/// A compiled pattern. A search that exceeds the backtracking limit is no match.
#[derive(Debug, Clone)]
pub struct Regex(fancy_regex::Regex);

impl Regex {
    pub fn new(pattern: &str) -> Result<Regex, String> {
        Regex::with_flags(pattern, Flags::default())
    }

    pub fn with_flags(pattern: &str, flags: Flags) -> Result<Regex, String> {
        let multiline = flags.multiline || inline_flag(pattern, 'm');
        fancy_regex::RegexBuilder::new(&translate(pattern, multiline))
            .case_insensitive(flags.ignorecase)
            .multi_line(flags.multiline)
            .dot_matches_new_line(flags.dotall)
            .backtrack_limit(BACKTRACK_LIMIT)
            .build()
            .map(Regex)
            .map_err(|e| python_error(&e))
    }

    pub fn is_match(&self, text: &str) -> bool {
        self.0.is_match(text).unwrap_or(false)
    }

    pub fn find<'t>(&self, text: &'t str) -> Option<Match<'t>> {
        self.0.find(text).ok().flatten()
    }

    pub fn captures<'t>(&self, text: &'t str) -> Option<Captures<'t>> {
        self.0.captures(text).ok().flatten()
    }

    /// Every match in order, as Python's finditer.
    pub fn captures_iter<'r, 't>(&'r self, text: &'t str) -> impl Iterator<Item = Captures<'t>> + 'r
    where
        't: 'r,
    {
        self.0.captures_iter(text).map_while(Result::ok)
    }

    /// Replaces up to `limit` matches (0: all); `rep` in the regex crate's syntax
    /// (`files::edit::python_replacement` translates Python's).
    pub fn replacen<'t>(&self, text: &'t str, limit: usize, rep: &str) -> Cow<'t, str> {
        self.0
            .try_replacen(text, limit, rep)
            .unwrap_or(Cow::Borrowed(text))
    }

    pub fn replace_all<'t>(&self, text: &'t str, rep: &str) -> Cow<'t, str> {
        self.replacen(text, 0, rep)
    }
}

/// Whether the pattern starts with an inline flag group holding `flag`, as `(?ms)`.
fn inline_flag(pattern: &str, flag: char) -> bool {
    pattern
        .strip_prefix("(?")
        .and_then(|r| r.split_once(')'))
        .is_some_and(|(f, _)| f.chars().all(|c| c.is_ascii_alphabetic()) && f.contains(flag))
}

/// Python's syntax where fancy-regex reads it differently: `\Z` is the very end (fancy-regex
/// allows trailing newlines), and outside MULTILINE `$` also matches before a final newline.
fn translate(pattern: &str, multiline: bool) -> String {
    let mut out = String::with_capacity(pattern.len());
    let mut chars = pattern.chars().peekable();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('Z') if !in_class => out.push_str(r"\z"),
                Some(n) => {
                    out.push('\\');
                    out.push(n);
                }
                None => out.push('\\'),
            },
            '[' if !in_class => {
                in_class = true;
                out.push('[');
                // `[]...]` and `[^]...]`: a leading `]` is a literal.
                if chars.peek() == Some(&'^') {
                    out.push('^');
                    chars.next();
                }
                if chars.peek() == Some(&']') {
                    out.push_str(r"\]");
                    chars.next();
                }
            }
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            '$' if !in_class && !multiline => out.push_str(r"(?=\n?\z)"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn re(p: &str) -> Regex {
        Regex::new(p).unwrap()
    }

    #[test]
    fn backreferences_and_lookaround() {
        assert!(re(r"(\w+) \1").is_match("hey hey"));
        // Python: re.search(r'(\w+) \1', 'hey you') matches "y y"; anchored it doesn't.
        assert!(!re(r"^(\w+) \1$").is_match("hey you"));
        assert!(re(r"(?P<w>\w+)-(?P=w)").is_match("ab-ab"));
        assert!(re(r"foo(?=bar)").is_match("foobar"));
        assert!(!re(r"foo(?!bar)").is_match("foobar"));
        assert!(re(r"(?<=x)y").is_match("xy"));
        assert!(!re(r"(?<!x)y").is_match("xy"));
    }

    #[test]
    fn anchors_as_python() {
        // Python: re.search('o$', 'foo\n') matches; re.search(r'o\Z', 'foo\n') does not.
        assert!(re("o$").is_match("foo\n"));
        assert!(!re(r"o\Z").is_match("foo\n"));
        assert!(re(r"o\Z").is_match("foo"));
        assert_eq!(re("o$").replace_all("foo\n", "x"), "fox\n");
        // In MULTILINE, `$` is every line's end.
        let m = Regex::with_flags(
            "o$",
            Flags {
                multiline: true,
                ..Flags::default()
            },
        )
        .unwrap();
        assert_eq!(m.replace_all("fo\nbo\n", "x"), "fx\nbx\n");
        assert_eq!(re("(?m)o$").replace_all("fo\nbo", "x"), "fx\nbx");
        // A `$` inside a class is a dollar.
        assert!(re("[$]").is_match("a$"));
    }

    #[test]
    fn literal_braces_as_python() {
        assert!(re("a{b").is_match("a{b"));
        assert!(re("x{,2}y").is_match("xxy"));
    }

    #[test]
    fn catastrophic_pattern_is_no_match() {
        let text = "a".repeat(40);
        assert!(!re(r"(a+)+\1b").is_match(&text));
    }
}
