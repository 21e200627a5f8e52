//! Unified diffs of file changes, coloured on a terminal.

use similar::TextDiff;
use timonel_modules::FileDiff;

pub fn render(d: &FileDiff, color: bool) -> String {
    let diff = TextDiff::from_lines(&d.before, &d.after);
    let mut out = String::new();
    let text = diff
        .unified_diff()
        .context_radius(3)
        .header(
            &format!("before: {}", d.before_header),
            &format!("after: {}", d.after_header),
        )
        .to_string();
    for line in text.split_inclusive('\n') {
        let line = if line.ends_with('\n') {
            line.to_string()
        } else {
            format!("{line}\n\\ No newline at end of file\n")
        };
        let c = match line.as_bytes().first() {
            _ if !color => None,
            Some(b'+') => Some("\x1b[0;32m"),
            Some(b'-') => Some("\x1b[0;31m"),
            Some(b'@') => Some("\x1b[0;36m"),
            _ => None,
        };
        match c {
            Some(c) => out.push_str(&format!("{c}{}\x1b[0m\n", line.trim_end_matches('\n'))),
            None => out.push_str(&line),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn plain_unified() {
        let d = FileDiff::new("/tmp/f", "a\nb\n", "a\nc\n");
        let r = render(&d, false);
        assert!(r.contains("--- before: /tmp/f\n+++ after: /tmp/f\n"), "{r}");
        assert!(r.contains("-b\n+c\n"), "{r}");
    }
}
