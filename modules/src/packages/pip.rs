//! pip: Python packages installed with pip on the host, in the system or a virtualenv (made
//! with `virtualenv_command` when missing). What is installed is read from `pip list`; as in
//! Ansible, `latest`, `forcereinstall` and `requirements` are reported as changes in check
//! mode and, when run, changed only if `pip list` differs afterwards.

use std::collections::BTreeMap;

use async_trait::async_trait;

use crate::connection::sh_quote;
use crate::spec::{arg, ArgType::*, ModuleSpec};
use crate::{
    Apply, ApplyContext, Args, HostView, ModResult, Module, ModuleError, ModuleResult, Plan,
    PlanContext, Work,
};

pub struct Pip;

static SPEC: ModuleSpec = ModuleSpec::new(
    "pip",
    "Install, upgrade or remove Python packages with pip (optionally in a virtualenv).",
    &[
        arg(
            "name",
            List,
            "Packages, with optional version specifiers (django>=4.2), or URLs/paths.",
        ),
        arg("version", Str, "The version of the single package in name."),
        arg("requirements", Str, "A requirements file on the host."),
        arg(
            "virtualenv",
            Path,
            "A virtualenv to install into (created when missing).",
        ),
        arg(
            "virtualenv_command",
            Path,
            "The command that creates it, e.g. 'python3 -m venv'.",
        )
        .default("\"virtualenv\""),
        arg(
            "virtualenv_python",
            Str,
            "The Python the virtualenv is made for (virtualenv -p).",
        ),
        arg(
            "virtualenv_site_packages",
            Bool,
            "Give the virtualenv the system's site-packages.",
        )
        .default("false"),
        arg("state", Str, "present, latest, absent or forcereinstall.")
            .default("\"present\"")
            .choices(&["present", "latest", "absent", "forcereinstall"]),
        arg("extra_args", Str, "More pip arguments."),
        arg(
            "executable",
            Path,
            "The pip to run (default: the virtualenv's, else pip3).",
        ),
        arg("chdir", Path, "Run pip in this directory."),
        arg("editable", Bool, "Install in editable mode (-e).").default("false"),
        arg(
            "break_system_packages",
            Bool,
            "Let pip change an externally managed Python (--break-system-packages).",
        )
        .default("false"),
        arg("umask", Str, "Accepted; pip runs with the login's umask."),
    ],
)
.one_of(&[&["name", "requirements"]])
.exclusive(&[&["name", "requirements"], &["executable", "virtualenv"]])
.also_known_as(&["ansible.builtin.pip"]);

/// PEP 503's normal form of a name.
fn normalize(name: &str) -> String {
    name.to_ascii_lowercase().replace(['_', '.'], "-")
}

/// `name==version` lines of `pip list --format=freeze`.
fn parse_freeze(out: &str) -> BTreeMap<String, String> {
    out.lines()
        .filter_map(|l| l.split_once("=="))
        .map(|(n, v)| (normalize(n.trim()), v.trim().to_string()))
        .collect()
}

/// A requirement split into its name and version specifiers; `None` for URLs and paths.
fn split_spec(req: &str) -> Option<(String, Vec<(String, String)>)> {
    let req = req.trim();
    if req.contains("://") || req.starts_with('.') || req.starts_with('/') || req.contains('@') {
        return None;
    }
    let end = req
        .find(|c: char| "<>=!~;[ ".contains(c))
        .unwrap_or(req.len());
    let name = normalize(&req[..end]);
    let mut rest = &req[end..];
    if rest.starts_with('[') {
        rest = rest.split_once(']').map(|(_, r)| r).unwrap_or("");
    }
    let rest = rest.split(';').next().unwrap_or("");
    let mut specs = vec![];
    for part in rest.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let op_end = part
            .find(|c: char| !"<>=!~".contains(c))
            .unwrap_or(part.len());
        specs.push((
            part[..op_end].to_string(),
            part[op_end..].trim().to_string(),
        ));
    }
    Some((name, specs))
}

/// Dotted versions compared number by number (text parts as text).
fn cmp_versions(a: &str, b: &str) -> std::cmp::Ordering {
    let parts = |v: &str| -> Vec<String> { v.split(['.', '-', '+']).map(str::to_string).collect() };
    let (pa, pb) = (parts(a), parts(b));
    for i in 0..pa.len().max(pb.len()) {
        let (x, y) = (
            pa.get(i).map(String::as_str).unwrap_or("0"),
            pb.get(i).map(String::as_str).unwrap_or("0"),
        );
        let o = match (x.parse::<u64>(), y.parse::<u64>()) {
            (Ok(x), Ok(y)) => x.cmp(&y),
            _ => x.cmp(y),
        };
        if o != std::cmp::Ordering::Equal {
            return o;
        }
    }
    std::cmp::Ordering::Equal
}

/// Whether an installed version meets every specifier (unknown operators: not met, so pip
/// decides).
fn satisfies(have: &str, specs: &[(String, String)]) -> bool {
    use std::cmp::Ordering::*;
    specs.iter().all(|(op, v)| {
        let o = cmp_versions(have, v);
        match op.as_str() {
            "==" | "===" => match v.strip_suffix(".*") {
                Some(prefix) => have == prefix || have.starts_with(&format!("{prefix}.")),
                None => o == Equal,
            },
            "!=" => o != Equal,
            ">=" => o != Less,
            "<=" => o != Greater,
            ">" => o == Greater,
            "<" => o == Less,
            _ => false,
        }
    })
}

struct Setup {
    pip: String,
    make_venv: Option<String>,
    chdir: Option<String>,
}

impl Setup {
    fn of(args: &Args) -> Setup {
        let venv = args.string("virtualenv");
        let pip = match (args.string("executable"), &venv) {
            (Some(e), _) => sh_quote(&e),
            (None, Some(v)) => sh_quote(&format!("{}/bin/pip", v.trim_end_matches('/'))),
            (None, None) => "pip3".into(),
        };
        let make_venv = venv.map(|v| {
            let mut c = args
                .string("virtualenv_command")
                .unwrap_or_else(|| "virtualenv".into());
            if args.bool("virtualenv_site_packages") {
                c.push_str(" --system-site-packages");
            }
            if let Some(py) = args.str("virtualenv_python") {
                if !c.contains(" -m venv") {
                    c.push_str(&format!(" -p {}", sh_quote(py)));
                }
            }
            format!("{c} {}", sh_quote(&v))
        });
        Setup {
            pip,
            make_venv,
            chdir: args.string("chdir"),
        }
    }

    fn cd(&self) -> String {
        self.chdir
            .as_ref()
            .map(|d| format!("cd {} && ", sh_quote(d)))
            .unwrap_or_default()
    }

    async fn freeze(&self, host: &HostView<'_>) -> ModResult<Option<BTreeMap<String, String>>> {
        let out = host
            .exec(&format!(
                "{}{} list --format=freeze --disable-pip-version-check 2>/dev/null",
                self.cd(),
                self.pip
            ))
            .await?;
        Ok((out.rc == 0).then(|| parse_freeze(&out.stdout_str())))
    }
}

struct PipRun {
    venv_missing: bool,
    cmd: String,
    /// Changed whatever pip list says afterwards (packages known to be missing).
    sure: bool,
}

#[async_trait]
impl Module for Pip {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn plan(&self, ctx: &PlanContext<'_>, args: &Args) -> ModResult<Plan> {
        let setup = Setup::of(args);
        let state = args.str("state").unwrap_or("present");
        let mut names = args.strings("name");
        if let Some(v) = args.str("version") {
            if names.len() != 1 {
                return Err(ModuleError::Failed(
                    "version is only allowed with a single package in name".into(),
                ));
            }
            names[0] = format!("{}=={v}", names[0]);
        }
        let venv_missing = match args.str("virtualenv") {
            Some(v) => {
                ctx.host
                    .exec(&format!(
                        "test -f {}",
                        sh_quote(&format!("{}/bin/activate", v.trim_end_matches('/')))
                    ))
                    .await?
                    .rc
                    != 0
            }
            None => false,
        };
        let installed = if venv_missing {
            Some(BTreeMap::new())
        } else {
            setup.freeze(&ctx.host).await?
        };
        let installed = installed.ok_or_else(|| {
            ModuleError::Failed(format!(
                "cannot run {} (is pip installed on the host? python3-pip on Debian)",
                setup.pip
            ))
        })?;
        let mut flags = String::new();
        if args.bool("break_system_packages") {
            flags.push_str(" --break-system-packages");
        }
        if let Some(e) = args.str("extra_args") {
            flags.push(' ');
            flags.push_str(e);
        }
        let quoted = |ns: &[String]| -> String {
            ns.iter()
                .map(|n| {
                    if args.bool("editable") {
                        format!("-e {}", sh_quote(n))
                    } else {
                        sh_quote(n)
                    }
                })
                .collect::<Vec<_>>()
                .join(" ")
        };
        let (cmd, sure) = match state {
            "absent" => {
                let present: Vec<String> = names
                    .iter()
                    .filter(|n| {
                        split_spec(n).is_some_and(|(name, _)| installed.contains_key(&name))
                    })
                    .cloned()
                    .collect();
                if present.is_empty() {
                    return Ok(Plan::Done(ModuleResult::ok().with("name", names)));
                }
                let bare: Vec<String> = present
                    .iter()
                    .filter_map(|n| split_spec(n).map(|s| s.0))
                    .collect();
                (
                    format!("{} uninstall -y{flags} {}", setup.pip, quoted(&bare)),
                    true,
                )
            }
            "latest" | "forcereinstall" => {
                let force = if state == "forcereinstall" {
                    " --force-reinstall"
                } else {
                    ""
                };
                let what = match args.str("requirements") {
                    Some(r) => format!("-r {}", sh_quote(r)),
                    None => quoted(&names),
                };
                (
                    format!("{} install -U{force}{flags} {what}", setup.pip),
                    state == "forcereinstall",
                )
            }
            _ => match args.str("requirements") {
                Some(r) => (
                    format!("{} install{flags} -r {}", setup.pip, sh_quote(r)),
                    false,
                ),
                None => {
                    let missing: Vec<String> = names
                        .iter()
                        .filter(|n| match split_spec(n) {
                            None => true,
                            Some((name, specs)) => !installed
                                .get(&name)
                                .is_some_and(|have| satisfies(have, &specs)),
                        })
                        .cloned()
                        .collect();
                    if missing.is_empty() && !venv_missing {
                        return Ok(Plan::Done(ModuleResult::ok().with("name", names)));
                    }
                    (
                        format!("{} install{flags} {}", setup.pip, quoted(&missing)),
                        !missing.is_empty(),
                    )
                }
            },
        };
        let cmd = format!("{}{cmd}", setup.cd());
        let mut preview = ModuleResult::changed()
            .with("name", names)
            .with("cmd", cmd.clone())
            .with("state", state);
        if let Some(v) = args.str("virtualenv") {
            preview = preview.with("virtualenv", v);
        }
        if let Some(r) = args.str("requirements") {
            preview = preview.with("requirements", r);
        }
        Ok(Plan::change(
            preview,
            Work::custom(PipRun {
                venv_missing,
                cmd,
                sure: sure || venv_missing,
            }),
        ))
    }
}

#[async_trait]
impl Apply for PipRun {
    async fn apply(
        self: Box<Self>,
        ctx: &ApplyContext<'_>,
        args: &Args,
        mut preview: ModuleResult,
    ) -> ModResult<ModuleResult> {
        let setup = Setup::of(args);
        if self.venv_missing {
            if let Some(make) = &setup.make_venv {
                let out = ctx.host.exec(&format!("{}{make}", setup.cd())).await?;
                if out.rc != 0 {
                    return Err(ModuleError::Failed(format!(
                        "cannot create the virtualenv with '{make}': {}",
                        format!("{}{}", out.stderr_str(), out.stdout_str()).trim()
                    )));
                }
            }
        }
        let before = setup.freeze(ctx.host.view()).await?;
        let out = ctx.host.exec(&self.cmd).await?;
        let (so, se) = (out.stdout_str(), out.stderr_str());
        preview = preview
            .with("stdout", so.clone())
            .with("stderr", se.clone());
        if out.rc != 0 {
            let mut r = ModuleResult::failed(format!("pip failed (rc={}): {}", out.rc, se.trim()));
            r.data = preview.data;
            return Ok(r);
        }
        if !self.sure {
            let after = setup.freeze(ctx.host.view()).await?;
            preview.changed = before != after;
        }
        Ok(preview)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specifiers_are_checked_against_what_is_installed() {
        let (n, s) = split_spec("Django[argon2]>=4.2,<5.0").unwrap();
        assert_eq!(n, "django");
        assert!(satisfies("4.2.11", &s));
        assert!(!satisfies("5.0.1", &s));
        assert!(satisfies("1.26.0", &split_spec("numpy==1.26.*").unwrap().1));
        assert!(split_spec("git+https://github.com/x/y.git").is_none());
        assert_eq!(
            parse_freeze("Flask==3.0.0\nzope.interface==6.1\n").get("zope-interface"),
            Some(&"6.1".to_string())
        );
    }
}
