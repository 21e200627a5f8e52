//! locale_gen (community.general): locales generated (or removed) on a Debian-family host:
//! their lines in /etc/locale.gen uncommented (or commented out), then `locale-gen`. A
//! locale counts as present when `locale -a` lists it, as in community.general.

use async_trait::async_trait;

use crate::spec::{arg, ArgType::*, ModuleSpec};
use crate::{
    Apply, ApplyContext, Args, FileDiff, ModResult, Module, ModuleError, ModuleResult, Plan,
    PlanContext, Work,
};

pub struct LocaleGen;

static SPEC: ModuleSpec = ModuleSpec::new(
    "locale_gen",
    "Generate or remove locales through /etc/locale.gen (community.general.locale_gen).",
    &[
        arg("name", List, "Locales, e.g. en_US.UTF-8.").required(),
        arg("state", Str, "present or absent.")
            .default("\"present\"")
            .choices(&["absent", "present"]),
    ],
)
.also_known_as(&["community.general.locale_gen"]);

const LOCALE_GEN: &str = "/etc/locale.gen";

/// `locale -a` spells encodings in lower case without dashes (`en_US.utf8`).
fn fix_case(name: &str) -> String {
    const NORMAL: &[(&str, &str)] = &[
        (".utf8", ".UTF-8"),
        (".eucjp", ".EUC-JP"),
        (".iso885915", ".ISO-8859-15"),
        (".cp1251", ".CP1251"),
        (".koi8r", ".KOI8-R"),
        (".armscii8", ".ARMSCII-8"),
        (".euckr", ".EUC-KR"),
        (".gbk", ".GBK"),
        (".gb18030", ".GB18030"),
        (".euctw", ".EUC-TW"),
    ];
    NORMAL
        .iter()
        .fold(name.to_string(), |n, (s, r)| n.replace(s, r))
}

fn not_present(names: &[String], locale_a: &str) -> Vec<String> {
    names
        .iter()
        .filter(|n| !locale_a.lines().any(|l| fix_case(n) == fix_case(l.trim())))
        .cloned()
        .collect()
}

/// The locale of a SUPPORTED / locale.gen line (`# en_US.UTF-8 UTF-8` -> `en_US.UTF-8`).
fn listed_locale(line: &str) -> Option<&str> {
    let l = line.trim_start();
    let l = l.strip_prefix('#').unwrap_or(l).trim_start();
    let mut parts = l.split(' ');
    let (locale, charset) = (parts.next()?, parts.next()?);
    (parts.all(|p| p.trim().is_empty()) && !locale.is_empty() && !charset.trim().is_empty())
        .then_some(locale)
}

/// /etc/locale.gen with each name's line (`#?\s*NAME charset`) enabled or commented out.
fn edit_locale_gen(text: &str, names: &[String], enable: bool) -> String {
    text.split_inclusive('\n')
        .map(|line| {
            for n in names {
                let l = line.strip_prefix('#').unwrap_or(line).trim_start();
                if let Some(rest) = l.strip_prefix(n.as_str()).and_then(|r| r.strip_prefix(' ')) {
                    let (charset, nl) = match rest.strip_suffix('\n') {
                        Some(c) => (c, "\n"),
                        None => (rest, ""),
                    };
                    if !charset.is_empty() {
                        let hash = if enable { "" } else { "# " };
                        return format!("{hash}{n} {charset}{nl}");
                    }
                }
            }
            line.to_string()
        })
        .collect()
}

struct Generate {
    content: String,
}

#[async_trait]
impl Module for LocaleGen {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn plan(&self, ctx: &PlanContext<'_>, args: &Args) -> ModResult<Plan> {
        let names = args.strings("name");
        let present = args.str("state") != Some("absent");
        let Some(conf) = ctx.host.read(LOCALE_GEN).await? else {
            return Err(ModuleError::Failed(format!(
                "/var/lib/locales/supported.d and {LOCALE_GEN} are missing. Is the package \"locales\" installed?"
            )));
        };
        let supported = ctx
            .host
            .read("/usr/share/i18n/SUPPORTED")
            .await?
            .unwrap_or_default();
        let supported = String::from_utf8_lossy(&supported);
        let locale_a = ctx.host.exec_ok("locale -a").await?.stdout_str();
        let unlisted: Vec<String> = names
            .iter()
            .filter(|n| {
                !supported
                    .lines()
                    .any(|l| listed_locale(l) == Some(n.as_str()))
            })
            .cloned()
            .collect();
        let unavailable = not_present(&unlisted, &locale_a);
        if !unavailable.is_empty() {
            return Err(ModuleError::Failed(format!(
                "The following locales you have entered are not available on your system: {}",
                unavailable.join(", ")
            )));
        }
        let is_present = not_present(&names, &locale_a).is_empty();
        let result = ModuleResult::ok().with("name", names.clone());
        if is_present == present {
            return Ok(Plan::Done(result));
        }
        let old = String::from_utf8_lossy(&conf).into_owned();
        let new = edit_locale_gen(&old, &names, present);
        let mut preview = result;
        preview.changed = true;
        if ctx.diff {
            preview
                .diffs
                .push(FileDiff::new(LOCALE_GEN, old, new.clone()));
        }
        Ok(Plan::change(
            preview,
            Work::custom(Generate { content: new }),
        ))
    }
}

#[async_trait]
impl Apply for Generate {
    async fn apply(
        self: Box<Self>,
        ctx: &ApplyContext<'_>,
        _args: &Args,
        preview: ModuleResult,
    ) -> ModResult<ModuleResult> {
        let existing = ctx.host.stat(LOCALE_GEN, true).await?;
        ctx.host
            .write_atomic(
                LOCALE_GEN,
                self.content.as_bytes(),
                &Default::default(),
                existing.as_ref(),
            )
            .await?;
        ctx.host.exec_ok("locale-gen").await?;
        Ok(preview)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locale_gen_lines_are_toggled() {
        let text = "# en_US.UTF-8 UTF-8\n#  de_DE.UTF-8 UTF-8\nfr_FR.UTF-8 UTF-8\n";
        let names = vec!["en_US.UTF-8".to_string(), "de_DE.UTF-8".to_string()];
        assert_eq!(
            edit_locale_gen(text, &names, true),
            "en_US.UTF-8 UTF-8\nde_DE.UTF-8 UTF-8\nfr_FR.UTF-8 UTF-8\n"
        );
        assert_eq!(
            edit_locale_gen("fr_FR.UTF-8 UTF-8\n", &["fr_FR.UTF-8".into()], false),
            "# fr_FR.UTF-8 UTF-8\n"
        );
        assert!(not_present(&names, "C\nen_US.utf8\nde_DE.utf8\n").is_empty());
        assert_eq!(listed_locale("# en_US.UTF-8 UTF-8"), Some("en_US.UTF-8"));
    }
}
