//! Limits on what the controller builds from its input, so that a mistaken (or hostile)
//! playbook, inventory, template or file ends with an error that names the limit instead of
//! exhausting the memory or the stack of the machine it runs on.
//!
//! | limit | default | raised with |
//! |---|---|---|
//! | YAML nesting depth | 500 levels | `TIMONEL_MAX_YAML_DEPTH` |
//! | nodes YAML aliases expand to | 1,000,000 | `TIMONEL_MAX_YAML_ALIAS_NODES` |
//! | nested blocks, task files and roles | 100 levels | `TIMONEL_MAX_NESTING` |
//! | hosts of one inventory range (`web[1:50]`) | 100,000 | `TIMONEL_MAX_RANGE_HOSTS` |
//! | items of `lookup('sequence')` / `with_sequence` | 100,000 | `TIMONEL_MAX_SEQUENCE` |
//! | bytes one template renders to | 64 MiB | `TIMONEL_MAX_TEMPLATE_OUTPUT` |
//! | memory one template render may allocate | 1 GiB | `TIMONEL_MAX_TEMPLATE_MEMORY` |
//! | bytes of a file the controller reads | 64 MiB | `TIMONEL_MAX_FILE_SIZE` |
//!
//! A value that is not a positive whole number leaves the default in place.

use std::io::Read;
use std::path::Path;
use std::sync::OnceLock;

use crate::diag::Diagnostic;

pub struct Limit {
    /// The environment variable that raises (or lowers) it.
    pub env: &'static str,
    pub default: usize,
    /// What is counted, for messages: "levels of YAML nesting".
    pub unit: &'static str,
    /// The value in force, read from the environment once.
    value: OnceLock<usize>,
}

/// How deep YAML collections may nest. Each level costs stack in the loader and in everything
/// that walks the values later; Ansible playbooks rarely go beyond 20.
pub static YAML_DEPTH: Limit = Limit {
    env: "TIMONEL_MAX_YAML_DEPTH",
    default: 500,
    value: OnceLock::new(),
    unit: "levels of YAML nesting",
};

/// How many nodes the aliases (`*name`) of one YAML file may expand to in total. Aliases are
/// copied where they are used, so a "billion laughs" file of nine lines would otherwise need
/// gigabytes. A million nodes take about 100 MB.
pub static YAML_ALIAS_NODES: Limit = Limit {
    env: "TIMONEL_MAX_YAML_ALIAS_NODES",
    default: 1_000_000,
    value: OnceLock::new(),
    unit: "YAML nodes expanded from aliases",
};

/// How deep blocks, imported/included task files and roles may nest inside each other: a
/// task file that includes itself stops here instead of recursing until the stack overflows.
pub static NESTING: Limit = Limit {
    env: "TIMONEL_MAX_NESTING",
    default: 100,
    value: OnceLock::new(),
    unit: "levels of nested blocks, task files and roles",
};

/// How many hosts one inventory host range (`web[001:100]`) may stand for.
pub static RANGE_HOSTS: Limit = Limit {
    env: "TIMONEL_MAX_RANGE_HOSTS",
    default: 100_000,
    value: OnceLock::new(),
    unit: "hosts in one host range",
};

/// How many items `lookup('sequence')` / `with_sequence` may produce (Jinja's `range()` has
/// the same limit).
pub static SEQUENCE: Limit = Limit {
    env: "TIMONEL_MAX_SEQUENCE",
    default: 100_000,
    value: OnceLock::new(),
    unit: "items in a sequence",
};

/// How large the result of rendering one template (a templated string, an expression's value,
/// the template module's file, `lookup('template')`) may be.
pub static TEMPLATE_OUTPUT: Limit = Limit {
    env: "TIMONEL_MAX_TEMPLATE_OUTPUT",
    default: 64 << 20,
    value: OnceLock::new(),
    unit: "bytes of template output",
};

/// How much memory one template render may allocate (see `memguard`): values built inside a
/// render (`{% set ns.s = ns.s ~ ns.s %}` in a loop) never reach the output limit.
pub static TEMPLATE_MEMORY: Limit = Limit {
    env: "TIMONEL_MAX_TEMPLATE_MEMORY",
    default: 1 << 30,
    value: OnceLock::new(),
    unit: "bytes allocated by one template render",
};

/// How large a file the controller reads may be: playbooks, inventories, variable files,
/// `-e @file`, `lookup('file')`, `lookup('template')`. Reads stop at the limit, so a device
/// such as /dev/zero ends with an error too.
pub static FILE_SIZE: Limit = Limit {
    env: "TIMONEL_MAX_FILE_SIZE",
    default: 64 << 20,
    value: OnceLock::new(),
    unit: "bytes in a file read by the controller",
};

impl Limit {
    /// The limit in force: the environment variable when it holds a positive number.
    pub fn get(&self) -> usize {
        *self.value.get_or_init(|| {
            std::env::var(self.env)
                .ok()
                .and_then(|v| v.trim().replace('_', "").parse::<usize>().ok())
                .filter(|n| *n > 0)
                .unwrap_or(self.default)
        })
    }

    /// The end of an error message: the limit, and how to raise it.
    pub fn explain(&self) -> String {
        let n = self.get();
        format!(
            "the limit is {} {}; set {}={} (or more) to raise it",
            n,
            self.unit,
            self.env,
            n.saturating_mul(2)
        )
    }
}

/// Stack for the thread that loads the playbooks: every YAML level is a few frames of the
/// loader and of what walks the values (about 8 KiB in a debug build).
pub fn main_stack() -> usize {
    YAML_DEPTH
        .get()
        .saturating_mul(32 << 10)
        .clamp(32 << 20, 1 << 30)
}

/// Stack for the engine's threads: nested blocks and includes are walked by nested futures
/// (up to 40 KiB a level in a debug build), and included files are loaded there too. The
/// default 2 MiB would hold about 150 levels of blocks; this keeps raised limits safe.
pub fn worker_stack() -> usize {
    NESTING
        .get()
        .saturating_mul(128 << 10)
        .saturating_add(YAML_DEPTH.get().saturating_mul(16 << 10))
        .clamp(16 << 20, 256 << 20)
}

/// Reads a text file, at most `FILE_SIZE` bytes of it.
pub fn read_to_string(path: &Path) -> std::io::Result<String> {
    let max = FILE_SIZE.get();
    let mut buf = Vec::new();
    std::fs::File::open(path)?
        .take(max as u64 + 1)
        .read_to_end(&mut buf)?;
    if buf.len() > max {
        return Err(std::io::Error::other(format!(
            "the file is larger than {max} bytes ({})",
            FILE_SIZE.explain()
        )));
    }
    String::from_utf8(buf).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

/// `read_to_string` with the file named in the error.
pub fn read_file(path: &Path) -> Result<String, Diagnostic> {
    read_to_string(path)
        .map_err(|e| Diagnostic::plain(format!("cannot read {}: {e}", path.display())))
}
