//! ansible-core 2.19 keeps backslashes in Jinja string constants as written: `'\1'` is a
//! backslash and a 1 (a regex backreference), `'\n'` is a backslash and an n. minijinja,
//! like Jinja2, would read them as escapes, so before compiling, each backslash inside a
//! string constant of a `{{ }}` / `{% %}` block is doubled (a backslash before the string's
//! own quote still escapes it, so the constant ends where Jinja2 ends it).

use std::borrow::Cow;

/// The source with backslashes in string constants doubled. `expr` says the whole text is
/// one expression (a condition, `eval_expr`), not a template.
pub fn literal_backslashes(src: &str, expr: bool) -> Cow<'_, str> {
    if !src.contains('\\') {
        return Cow::Borrowed(src);
    }
    let mut out = String::with_capacity(src.len() + 8);
    let b = src.as_bytes();
    let mut i = 0;
    let mut in_block = expr;
    while i < b.len() {
        if !in_block {
            if src[i..].starts_with("{#") {
                let end = src[i..].find("#}").map_or(b.len(), |e| i + e + 2);
                out.push_str(&src[i..end]);
                i = end;
                continue;
            }
            if src[i..].starts_with("{{") || src[i..].starts_with("{%") {
                // `{% raw %}...{% endraw %}` is text.
                let head = src[i + 2..].trim_start_matches('-').trim_start();
                if src[i..].starts_with("{%") && head.starts_with("raw") {
                    let end = src[i..]
                        .find("endraw")
                        .and_then(|e| src[i + e..].find("%}").map(|c| i + e + c + 2))
                        .unwrap_or(b.len());
                    out.push_str(&src[i..end]);
                    i = end;
                    continue;
                }
                in_block = true;
                out.push_str(&src[i..i + 2]);
                i += 2;
                continue;
            }
            let c = src[i..].chars().next().unwrap_or(' ');
            out.push(c);
            i += c.len_utf8();
            continue;
        }
        if !expr && (src[i..].starts_with("}}") || src[i..].starts_with("%}")) {
            in_block = false;
            out.push_str(&src[i..i + 2]);
            i += 2;
            continue;
        }
        let c = src[i..].chars().next().unwrap_or(' ');
        if c == '\'' || c == '"' {
            out.push(c);
            i += 1;
            while i < b.len() {
                let d = src[i..].chars().next().unwrap_or(' ');
                i += d.len_utf8();
                if d == '\\' {
                    if src[i..].starts_with(c) {
                        out.push('\\');
                        out.push(c);
                        i += 1;
                    } else {
                        out.push_str("\\\\");
                    }
                    continue;
                }
                out.push(d);
                if d == c {
                    break;
                }
            }
            continue;
        }
        out.push(c);
        i += c.len_utf8();
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::literal_backslashes as lb;

    #[test]
    fn backslashes_in_constants_are_kept() {
        assert_eq!(
            lb(r"{{ x | regex_replace('(a)', '\1') }}", false),
            r"{{ x | regex_replace('(a)', '\\1') }}"
        );
        assert_eq!(lb(r#"a\n {{ "\d" }} \t"#, false), r#"a\n {{ "\\d" }} \t"#);
        assert_eq!(lb(r"x is match('\d+')", true), r"x is match('\\d+')");
        assert_eq!(lb(r"{{ 'it\'s' }}", false), r"{{ 'it\'s' }}");
        assert_eq!(
            lb(r"{% raw %}{{ '\1' }}{% endraw %}", false),
            r"{% raw %}{{ '\1' }}{% endraw %}"
        );
        assert_eq!(lb("{# '\\1' #}", false), "{# '\\1' #}");
        assert_eq!(lb("{{ 'é\\1' }}", false), "{{ 'é\\\\1' }}");
    }

    #[test]
    fn rendered_as_ansible_does() {
        let env = minijinja::Environment::new();
        let r = |s: &str| env.render_str(&lb(s, false), ()).unwrap();
        // ansible-core 2.19: {{ 'a\1b\d\n' }} prints a\1b\d\n.
        assert_eq!(r(r"{{ 'a\1b\d\n' }}"), r"a\1b\d\n");
        assert_eq!(r(r"{{ 'it\'s' }}"), "it's");
    }
}
