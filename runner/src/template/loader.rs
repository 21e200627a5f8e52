//! `{% include %}`, `{% import %}`, `{% from ... import %}` and `{% extends %}` of template
//! files, found on Ansible's template search path: the role's `templates/` and the role,
//! the playbook directory's `templates/` and the directory, then the including template's
//! own directory. Loaded templates are cached per environment by name, so a render that
//! includes files gets an environment (a clone of the shared one) of its own, whose search
//! path is that render's.

use std::path::{Path, PathBuf};

use minijinja::{Environment, Error, ErrorKind, Value};

/// Whether the source has a statement that loads another template.
pub fn needs_loader(src: &str) -> bool {
    src.contains("{%")
        && ["include", "import", "extends"]
            .iter()
            .any(|w| src.contains(w))
}

/// Ansible's search path for templates: each base as `base/templates` then `base`.
pub fn search_path(ctx: &Value, file: Option<&Path>) -> Vec<PathBuf> {
    let var = |name: &str| {
        ctx.get_attr(name)
            .ok()
            .and_then(|v| v.as_str().map(PathBuf::from))
    };
    let mut bases: Vec<PathBuf> = [var("role_path"), var("playbook_dir")]
        .into_iter()
        .flatten()
        .collect();
    if let Some(dir) = file.and_then(Path::parent) {
        bases.push(dir.to_path_buf());
    }
    let mut out = vec![];
    for b in bases {
        for p in [b.join("templates"), b] {
            if !out.contains(&p) {
                out.push(p);
            }
        }
    }
    out
}

/// A copy of `env` that loads templates by name from `dirs`, first found wins.
pub fn with_loader<'e>(env: &Environment<'e>, dirs: Vec<PathBuf>) -> Environment<'e> {
    let mut env = env.clone();
    env.set_loader(move |name| {
        let rel = Path::new(name);
        let candidates: Vec<PathBuf> = if rel.is_absolute() {
            vec![rel.to_path_buf()]
        } else {
            dirs.iter().map(|d| d.join(rel)).collect()
        };
        match candidates.iter().find(|c| c.is_file()) {
            Some(p) => crate::limits::read_to_string(p)
                .map(|t| {
                    // Ansible keeps only the outer template's last newline: an included
                    // file's is dropped, as Jinja2 does by default.
                    let t = t
                        .strip_suffix("\r\n")
                        .or_else(|| t.strip_suffix('\n'))
                        .unwrap_or(&t);
                    Some(super::escapes::literal_backslashes(t, false).into_owned())
                })
                .map_err(|e| {
                    Error::new(
                        ErrorKind::InvalidOperation,
                        format!("cannot read template {}: {e}", p.display()),
                    )
                }),
            None => Err(Error::new(
                ErrorKind::TemplateNotFound,
                format!(
                    "template '{name}' not found; searched {}",
                    dirs.iter()
                        .map(|d| d.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
        }
    });
    env
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn includes_and_imports_come_from_the_search_path() {
        let role = tempfile::tempdir().unwrap();
        let play = tempfile::tempdir().unwrap();
        std::fs::create_dir(role.path().join("templates")).unwrap();
        std::fs::create_dir(play.path().join("templates")).unwrap();
        std::fs::write(role.path().join("templates/part.j2"), "role part {{ x }}\n").unwrap();
        std::fs::write(play.path().join("templates/part.j2"), "play part").unwrap();
        std::fs::write(
            play.path().join("templates/macros.j2"),
            "{% macro hi(n) %}hi {{ n }}{% endmacro %}",
        )
        .unwrap();
        let ctx = minijinja::context! {
            role_path => role.path().display().to_string(),
            playbook_dir => play.path().display().to_string(),
            x => 1,
        };
        let env = with_loader(&Environment::new(), search_path(&ctx, None));
        let r = |s: &str| env.render_str(s, ctx.clone()).unwrap();
        // The role's templates/ comes first.
        // Its last newline is dropped, as Jinja2 does for included files.
        assert_eq!(r("{% include 'part.j2' %}|"), "role part 1|");
        assert_eq!(r("{% import 'macros.j2' as m %}{{ m.hi('a') }}"), "hi a");
        assert_eq!(r("{% from 'macros.j2' import hi %}{{ hi('b') }}"), "hi b");
        let e = env.render_str("{% include 'nope.j2' %}", ctx).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::TemplateNotFound);
        assert!(!needs_loader("{{ x }}"));
        assert!(needs_loader("{% include 'a' %}"));
    }
}
