//! `timonel recap merge FILE...`: the results of `--slice 1/N` ... `N/N` runs, written with
//! `--output json`, merged into the one PLAY RECAP and exit code a single run would have given.
//!
//! Only the `stats` mapping is read (the `plays` are skipped unparsed), so the results of
//! `ansible-playbook` with the json callback merge as well. The exit code follows the runner's
//! precedence (`exec::run`): a host unreachable in any slice gives 4, else a failed host 2,
//! else 0. A run that never printed its result (bad input, interrupted) has no file to merge:
//! its own exit code tells.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::de::IgnoredAny;
use serde::Deserialize;

use crate::diag::Diagnostic;
use crate::exec::exit;
use crate::output::{Event, HostStats, Mode, Recap, Reporters};

/// What `--output json` writes, as far as the merge needs it.
#[derive(Deserialize)]
struct SliceResult {
    stats: BTreeMap<String, Counts>,
    /// Required so that some other JSON mapping with a `stats` key is not taken for a result.
    #[allow(dead_code)]
    plays: IgnoredAny,
}

/// A host's line of the recap, under the names Ansible's json callback gives them.
#[derive(Deserialize)]
struct Counts {
    ok: u32,
    changed: u32,
    unreachable: u32,
    failures: u32,
    skipped: u32,
    rescued: u32,
    ignored: u32,
}

impl From<Counts> for HostStats {
    fn from(c: Counts) -> HostStats {
        HostStats {
            ok: c.ok,
            changed: c.changed,
            unreachable: c.unreachable,
            failed: c.failures,
            skipped: c.skipped,
            rescued: c.rescued,
            ignored: c.ignored,
        }
    }
}

fn read(path: &Path) -> Result<SliceResult, Diagnostic> {
    let shown = path.display();
    let bytes =
        std::fs::read(path).map_err(|e| Diagnostic::plain(format!("cannot read {shown}: {e}")))?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Diagnostic::plain(format!("{shown} is empty"))
            .help("a run that stops before its recap (bad input, interrupted) writes no result; its exit code and stderr say why"));
    }
    serde_json::from_slice(&bytes).map_err(|e| {
        Diagnostic::plain(format!(
            "{shown} is not the result of a run with --output json: {e}"
        ))
        .help("write each slice's result with `timonel run ... --slice K/N --output json > slice-K.json`")
    })
}

/// The merged recap, or what stops the merge: every unreadable or invalid file, else the
/// hosts found in more than one file.
fn merge(files: &[PathBuf]) -> Result<Recap, Vec<Diagnostic>> {
    let mut results = vec![];
    let mut errors = vec![];
    for f in files {
        match read(f) {
            Ok(r) => results.push((f, r)),
            Err(d) => errors.push(d),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut recap = Recap::default();
    // host -> the file it came from, to name both files of a host seen twice.
    let mut from: BTreeMap<String, &PathBuf> = BTreeMap::new();
    let mut twice: Vec<(String, &PathBuf, &PathBuf)> = vec![];
    for (f, r) in results {
        for (host, counts) in r.stats {
            if let Some(first) = from.get(&host) {
                twice.push((host, first, f));
                continue;
            }
            *recap.entry(&host) = counts.into();
            from.insert(host, f);
        }
    }
    let Some((host, a, b)) = twice.first() else {
        return Ok(recap);
    };
    let more = match twice.len() - 1 {
        0 => String::new(),
        1 => " (and 1 more host is in two files)".into(),
        n => format!(" (and {n} more hosts are in two files)"),
    };
    let help = if host == "localhost" {
        "a play on localhost runs in every slice when localhost is not in the inventory: run those plays once, without --slice".to_string()
    } else {
        "each host belongs to one slice: merge the results of one --slice 1/N ... N/N series over the same inventory, each file once".to_string()
    };
    Err(vec![Diagnostic::plain(format!(
        "host {host} is in both {} and {}{more}",
        a.display(),
        b.display()
    ))
    .help(help)])
}

pub fn merge_command(files: &[PathBuf]) -> i32 {
    match merge(files) {
        Ok(recap) => {
            Reporters::new(0, Mode::Text).send(Event::Recap(&recap));
            if recap.any_unreachable() {
                exit::HOST_UNREACHABLE
            } else if recap.any_failed() {
                exit::HOST_FAILED
            } else {
                exit::OK
            }
        }
        Err(errors) => {
            for d in &errors {
                eprint!("{d}");
            }
            exit::BAD_INPUT
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    fn stats(host: &str, failures: u32, unreachable: u32) -> String {
        format!(
            r#"{{"plays": [], "stats": {{"{host}": {{"ok": 2, "changed": 1, "unreachable": {unreachable},
                "failures": {failures}, "skipped": 0, "rescued": 0, "ignored": 0}}}}}}"#
        )
    }

    #[test]
    fn hosts_of_every_slice_are_kept_with_their_counts() {
        let d = tempfile::tempdir().unwrap();
        let a = file(d.path(), "a.json", &stats("web2", 0, 0));
        let b = file(d.path(), "b.json", &stats("web1", 1, 0));
        let recap = merge(&[a, b]).unwrap_or_else(|_| panic!("merged"));
        let hosts: Vec<_> = recap.hosts().map(|(h, s)| (h.clone(), s.failed)).collect();
        assert_eq!(hosts, [("web1".to_string(), 1), ("web2".to_string(), 0)]);
        assert!(recap.any_failed() && !recap.any_unreachable());
    }

    #[test]
    fn every_bad_file_is_named() {
        let d = tempfile::tempdir().unwrap();
        let empty = file(d.path(), "empty.json", "\n");
        let text = file(d.path(), "text.json", "PLAY RECAP ****\n");
        let other = file(d.path(), "other.json", r#"{"stats": {}}"#);
        let missing = d.path().join("missing.json");
        let errors = merge(&[empty, text, other, missing]).err().unwrap();
        let shown: Vec<String> = errors.iter().map(|e| e.message.clone()).collect();
        assert!(shown[0].ends_with("empty.json is empty"), "{shown:?}");
        assert!(
            shown[1].contains("text.json is not the result of a run with --output json"),
            "{shown:?}"
        );
        assert!(shown[2].contains("missing field `plays`"), "{shown:?}");
        assert!(
            shown[3].contains("cannot read ") && shown[3].contains("missing.json"),
            "{shown:?}"
        );
    }

    #[test]
    fn a_host_in_two_files_stops_the_merge_and_names_both() {
        let d = tempfile::tempdir().unwrap();
        let a = file(d.path(), "a.json", &stats("web1", 0, 0));
        let b = file(d.path(), "b.json", &stats("web1", 0, 0));
        let errors = merge(&[a, b]).err().unwrap();
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0].message.starts_with("host web1 is in both ")
                && errors[0].message.ends_with("b.json"),
            "{}",
            errors[0].message
        );
    }
}
