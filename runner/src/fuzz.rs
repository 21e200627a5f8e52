//! A mutation fuzzer for the front end, on the stable toolchain: the YAML loader, the INI
//! and YAML inventory parsers, host ranges and patterns, free-form arguments and templates
//! get mutated inputs (bit flips, inserted tokens, spliced and repeated pieces of valid
//! seeds) and must answer each with a value or an error, never a panic. The binary has no
//! library target for cargo-fuzz to link against; this runs inside its unit tests instead.
//!
//! `cargo test -p timonel --bin timonel fuzz` runs each target for 2 s;
//! `TIMONEL_FUZZ_SECS=600` runs each for ten minutes. Every finding stays below in
//! `FOUND` as a regression input.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};

/// Inputs that once made a target panic, by target name.
const FOUND: &[(&str, &str)] = &[];

const TOKENS: &[&str] = &[
    "{{",
    "}}",
    "{%",
    "%}",
    "{#",
    "#}",
    "[",
    "]",
    "{",
    "}",
    ":",
    "- ",
    "---",
    "...",
    "&a ",
    "*a",
    "<<: ",
    "!!str ",
    "!unsafe ",
    "'",
    "\"",
    "\\",
    "\n",
    "  ",
    "\t",
    "=",
    " k=v",
    "[g:children]",
    "[g:vars]",
    "[0:9]",
    "[a:z]",
    "h[01:10]",
    ":!",
    ":&",
    "~",
    "|",
    "|-",
    ">",
    "#",
    "\0",
    "é",
    "range(3)",
    "| default('x')",
    "lookup('env','HOME')",
    "loop",
    "x.y",
    "x[0]",
    "(",
    ")",
    "..",
    "-1",
    "9999999999999999999999",
    "0o17",
    "0x1f",
    "1e999",
    "null",
    "yes",
    "on",
];

const YAML_SEEDS: &[&str] = &[
    "- hosts: all\n  tasks:\n    - debug: msg=hi\n      when: x is defined\n",
    "a: &x {b: [1, 2, {c: d}]}\nb: *x\n<<: *x\n",
    "k: !!str 1\nl: |\n  text\n  more\nm: >-\n  folded\n",
    "- [a, b, {c: 'd', e: \"f\\n\"}]\n- ? complex\n  : key\n",
];

const INI_SEEDS: &[&str] = &[
    "web1 ansible_host=10.0.0.1\n[web]\nweb[01:03].example.com x=1\n[db:children]\nweb\n[db:vars]\ny='a b'\n",
    "[all:vars]\nz=\"q\"\n[g]\nh ansible_port=2222 k=[1,2]\n",
];

const YAML_INV_SEEDS: &[&str] = &[
    "all:\n  hosts:\n    a: {ansible_host: 1.2.3.4}\n  children:\n    web:\n      hosts:\n        w[1:3]:\n      vars: {x: 1}\n",
];

const FREEFORM_SEEDS: &[&str] = &[
    "msg='hello world' var=x",
    "src=a.j2 dest=/etc/a mode=0644 owner=root",
    "echo {{ x }} \"a b\" 'c d' chdir=/tmp creates=/x",
];

const TEMPLATE_SEEDS: &[&str] = &[
    "{{ x | default('a') }} {% for i in range(3) %}{{ i }}{% endfor %}",
    "{% if a is defined and b == 'c' %}{{ a.b[0] | upper }}{% else %}{{ 'x' ~ y }}{% endif %}",
    "{{ {'a': 1} | dict2items | items2dict | to_json | from_json }}{# c #}",
    "{% set l = [1, 2] %}{{ l | map('string') | join(',') }} {{ '%s' | format(1) }}",
];

type Target = fn(&str);

fn yaml(s: &str) {
    let _ = crate::yaml::load_str("fuzz.yml", s);
}

/// Loads `text` as an inventory file named `name` (the loader picks the format by its
/// name and content), in a directory of its own.
fn inventory(name: &str, text: &str) -> Option<crate::inventory::Inventory> {
    thread_local! {
        static DIR: tempfile::TempDir = tempfile::tempdir().expect("temporary directory");
    }
    DIR.with(|d| {
        let p = d.path().join(name);
        std::fs::write(&p, text).ok()?;
        crate::inventory::Inventory::load(&[p.display().to_string()]).ok()
    })
}

/// Whether `text` may hold a host range of over 1,000 hosts: larger ones are slow for a known
/// reason (see `a_range_of_the_documented_maximum_loads_in_seconds`) and would stall the search.
fn big_range(text: &str) -> bool {
    let long_number = text
        .split(|c: char| !c.is_ascii_digit())
        .any(|d| d.len() > 3);
    let two_ranges = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('['))
        .any(|l| l.matches('[').count() > 1);
    long_number || two_ranges
}

fn ini(s: &str) {
    if big_range(s) {
        return;
    }
    if let Some(inv) = inventory("hosts.ini", s) {
        let _ = inv.select("all:!web:&db");
    }
}

fn yaml_inventory(s: &str) {
    if big_range(s) {
        return;
    }
    if let Some(inv) = inventory("hosts.yml", s) {
        let _ = inv.select("all");
    }
}

/// Host patterns against a small inventory, and the name as a host range.
fn patterns(s: &str) {
    thread_local! {
        static INV: Option<crate::inventory::Inventory> =
            inventory("fixed.ini", "[web]\na\nb\n[db]\nb\nc\n");
    }
    INV.with(|inv| {
        if let Some(inv) = inv {
            let _ = inv.select(s);
        }
    });
    // Ranges stay below 1,000 hosts: larger ones are slow for a known reason (see
    // `a_range_of_the_documented_maximum_loads_in_seconds`), which would stall the search.
    let long_number = s.split(|c: char| !c.is_ascii_digit()).any(|d| d.len() > 3);
    if !s.contains(['\n', ' ', '=', '#', ';']) && !long_number {
        let _ = inventory("range.ini", &format!("[g]\n{s}\n"));
    }
}

fn freeform(s: &str) {
    let _ = crate::playbook::freeform::parse(s, None);
}

fn template(s: &str) {
    thread_local! {
        static T: std::sync::Arc<crate::template::Templar> = crate::template::Templar::new();
    }
    let ctx = crate::template::from_json(
        &serde_json::json!({"x": 1, "y": "s", "a": {"b": [1]}, "l": [1, 2]}),
    );
    T.with(|t| {
        let _ = t.render_text(s, &ctx);
    });
}

/// One mutation of `s` (valid UTF-8 stays valid: mutations work on characters).
fn mutate(rng: &mut impl Rng, s: &str, seeds: &[&str]) -> String {
    let mut c: Vec<char> = s.chars().collect();
    for _ in 0..rng.random_range(1..=4) {
        let at = if c.is_empty() {
            0
        } else {
            rng.random_range(0..=c.len())
        };
        match rng.random_range(0..6) {
            0 if !c.is_empty() => {
                let i = rng.random_range(0..c.len());
                c.remove(i);
            }
            1 if !c.is_empty() => {
                let i = rng.random_range(0..c.len());
                c[i] = char::from(rng.random_range(0x20u8..0x7f));
            }
            2 | 3 => {
                let t = TOKENS[rng.random_range(0..TOKENS.len())];
                c.splice(at..at, t.chars());
            }
            4 if !c.is_empty() => {
                // Repeat a piece (nesting, long runs).
                let a = rng.random_range(0..c.len());
                let b = (a + rng.random_range(1..40)).min(c.len());
                let piece: Vec<char> = c[a..b].to_vec();
                for _ in 0..rng.random_range(1..8) {
                    c.splice(at.min(c.len())..at.min(c.len()), piece.iter().copied());
                }
            }
            _ => {
                // Splice in part of another seed.
                let o: Vec<char> = seeds[rng.random_range(0..seeds.len())].chars().collect();
                let a = rng.random_range(0..o.len());
                let b = rng.random_range(a..=o.len());
                c.splice(at..at, o[a..b].iter().copied());
            }
        }
    }
    c.truncate(4096);
    c.into_iter().collect()
}

/// Runs `target` on mutated inputs for `time`; returns the inputs that panicked.
fn fuzz(name: &str, target: Target, seeds: &[&str], time: Duration) -> Vec<String> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(
        std::env::var("TIMONEL_FUZZ_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(rand::random),
    );
    let mut corpus: Vec<String> = seeds.iter().map(|s| s.to_string()).collect();
    let mut found = vec![];
    let (start, mut runs) = (Instant::now(), 0u64);
    while start.elapsed() < time {
        let base = corpus[rng.random_range(0..corpus.len())].clone();
        let input = mutate(&mut rng, &base, seeds);
        runs += 1;
        if catch_unwind(AssertUnwindSafe(|| target(&input))).is_err() {
            found.push(input);
            continue;
        }
        // Keep some mutants as bases, so mutations stack up.
        if corpus.len() < 512 && rng.random_range(0..16) == 0 {
            corpus.push(input);
        }
    }
    eprintln!("fuzz {name}: {runs} inputs in {:?}", start.elapsed());
    found
}

fn time() -> Duration {
    Duration::from_secs(
        std::env::var("TIMONEL_FUZZ_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(2),
    )
}

fn check(name: &str, target: Target, seeds: &[&str]) {
    for (t, input) in FOUND.iter().filter(|(t, _)| *t == name) {
        assert!(
            catch_unwind(AssertUnwindSafe(|| target(input))).is_ok(),
            "{t}: regression input {input:?} panics again"
        );
    }
    let found = fuzz(name, target, seeds, time());
    assert!(found.is_empty(), "{name}: inputs that panic: {found:#?}");
}

#[test]
fn fuzz_yaml_loader() {
    check("yaml", yaml, YAML_SEEDS);
}

#[test]
fn fuzz_ini_inventory() {
    check("ini", ini, INI_SEEDS);
}

#[test]
fn fuzz_yaml_inventory() {
    check("yaml_inventory", yaml_inventory, YAML_INV_SEEDS);
}

#[test]
fn fuzz_host_ranges_and_patterns() {
    check(
        "patterns",
        patterns,
        &[
            "web[01:10].example.com",
            "all:!web:&db",
            "~^we.*",
            "web[0]:db[1:2]",
            "*.example.com",
        ],
    );
}

#[test]
fn fuzz_free_form_arguments() {
    check("freeform", freeform, FREEFORM_SEEDS);
}

#[test]
fn fuzz_templates() {
    check("template", template, TEMPLATE_SEEDS);
}

/// Found by `fuzz_host_ranges_and_patterns`: `h[0:20000]` (a fifth of the documented
/// `TIMONEL_MAX_RANGE_HOSTS`) took minutes to load, as every host added was compared with
/// every host of its group (`Inventory::add_host`); now hosts know their groups. Checked as
/// a growth rate, not a time, so a busy machine can't fail it: 5x the hosts must cost well
/// under 25x (what comparing each host with every other gave).
#[test]
fn a_range_of_the_documented_maximum_loads_in_linear_time() {
    let load = |n: usize| {
        let start = Instant::now();
        let inv = inventory("big-range.ini", &format!("[g]\nh[0:{}]\n", n - 1)).expect("loads");
        assert_eq!(inv.group_hosts("g").len(), n);
        start.elapsed()
    };
    // The smaller load twice, its faster time kept: a pause there would flatter the ratio.
    let small = load(20_000).min(load(20_000));
    let big = load(100_000);
    assert!(
        big < small * 12,
        "100,000 hosts took {big:?}, 20,000 took {small:?}: more than linear growth"
    );
}
