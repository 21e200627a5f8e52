use async_trait::async_trait;

use crate::connection::sh_quote;
use crate::spec::{arg, ArgType::*, ModuleSpec};
use crate::{Args, FileDiff, ModResult, Module, ModuleResult, Plan, PlanContext};

pub struct User;

static SPEC: ModuleSpec = ModuleSpec::new(
    "user",
    "Create, change or remove a local user account.",
    &[
        arg("name", Str, "User name.").required(),
        arg("state", Str, "Whether the user should exist.")
            .default("\"present\"")
            .choices(&["present", "absent"]),
        arg("uid", Int, "User ID."),
        arg("group", Str, "Primary group."),
        arg("groups", List, "Supplementary groups."),
        arg(
            "append",
            Bool,
            "Add to `groups` instead of setting them exactly.",
        )
        .default("false"),
        arg("shell", Path, "Login shell."),
        arg("home", Path, "Home directory."),
        arg(
            "create_home",
            Bool,
            "Create the home directory for a new user.",
        )
        .default("true")
        .aliases(&["createhome"]),
        arg("comment", Str, "GECOS field."),
        arg("system", Bool, "Create a system account.").default("false"),
        arg("password", Str, "Password hash (as in /etc/shadow)."),
        arg(
            "remove",
            Bool,
            "With absent: remove the home directory too.",
        )
        .default("false"),
    ],
);

#[derive(Debug, Default)]
struct Account {
    uid: String,
    group: String,
    comment: String,
    home: String,
    shell: String,
    groups: Vec<String>,
}

impl Account {
    fn describe(&self) -> String {
        format!(
            "uid={}\ngroup={}\ngroups={}\nhome={}\nshell={}\ncomment={}\n",
            self.uid,
            self.group,
            self.groups.join(","),
            self.home,
            self.shell,
            self.comment
        )
    }
}

async fn account(ctx: &PlanContext<'_>, name: &str) -> ModResult<Option<Account>> {
    let q = sh_quote(name);
    let out = ctx
        .host
        .exec(&format!(
            "getent passwd {q} || exit 2; echo; id -gn {q}; id -Gn {q}"
        ))
        .await?;
    if out.rc == 2 {
        return Ok(None);
    }
    let text = out.stdout_str();
    let mut lines = text.lines();
    let pw: Vec<&str> = lines.next().unwrap_or("").split(':').collect();
    lines.next();
    let group = lines.next().unwrap_or("").trim().to_string();
    let groups: Vec<String> = lines
        .next()
        .unwrap_or("")
        .split_whitespace()
        .filter(|g| *g != group)
        .map(str::to_string)
        .collect();
    Ok(Some(Account {
        uid: pw.get(2).unwrap_or(&"").to_string(),
        comment: pw.get(4).unwrap_or(&"").to_string(),
        home: pw.get(5).unwrap_or(&"").to_string(),
        shell: pw.get(6).unwrap_or(&"").to_string(),
        group,
        groups,
    }))
}

#[async_trait]
impl Module for User {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn plan(&self, ctx: &PlanContext<'_>, args: &Args) -> ModResult<Plan> {
        let name = args.string("name").unwrap_or_default();
        let q = sh_quote(&name);
        let cur = account(ctx, &name).await?;
        let want_groups: Vec<String> = args
            .strings("groups")
            .into_iter()
            .filter(|g| !g.is_empty())
            .collect();
        let result = ModuleResult::ok()
            .with("name", name.clone())
            .with("state", args.string("state").unwrap_or_default());
        let mut opts = String::new();
        let mut add = |flag: &str, v: &str| opts.push_str(&format!(" {flag} {}", sh_quote(v)));
        let cmd = if args.str("state") == Some("absent") {
            cur.as_ref().map(|_| {
                format!(
                    "userdel{} {q}",
                    if args.bool("remove") { " -r" } else { "" }
                )
            })
        } else {
            let changed = |want: Option<String>, have: Option<&str>| {
                want.filter(|w| Some(w.as_str()) != have)
            };
            if let Some(u) = changed(
                args.int("uid").map(|u| u.to_string()),
                cur.as_ref().map(|c| c.uid.as_str()),
            ) {
                add("-u", &u);
            }
            if let Some(g) = changed(args.string("group"), cur.as_ref().map(|c| c.group.as_str())) {
                add("-g", &g);
            }
            if let Some(s) = changed(args.string("shell"), cur.as_ref().map(|c| c.shell.as_str())) {
                add("-s", &s);
            }
            if let Some(h) = changed(args.string("home"), cur.as_ref().map(|c| c.home.as_str())) {
                add("-d", &h);
            }
            if let Some(c) = changed(
                args.string("comment"),
                cur.as_ref().map(|c| c.comment.as_str()),
            ) {
                add("-c", &c);
            }
            if let Some(p) = args.string("password") {
                // The hash is compared on the host, never printed.
                let same = ctx
                    .host
                    .exec(&format!(
                        "[ \"$(getent shadow {q} | cut -d: -f2)\" = {} ]",
                        sh_quote(&p)
                    ))
                    .await?
                    .rc
                    == 0;
                if !same || cur.is_none() {
                    add("-p", &p);
                }
            }
            if !want_groups.is_empty() {
                let have: Vec<String> = cur.as_ref().map(|c| c.groups.clone()).unwrap_or_default();
                let missing = want_groups.iter().any(|g| !have.contains(g));
                let extra = !args.bool("append") && have.iter().any(|g| !want_groups.contains(g));
                if missing || extra || cur.is_none() {
                    add("-G", &want_groups.join(","));
                    if args.bool("append") && cur.is_some() {
                        opts.push_str(" -a");
                    }
                }
            }
            match &cur {
                None => {
                    let mut c = format!("useradd{opts}");
                    c.push_str(if args.bool("create_home") {
                        " -m"
                    } else {
                        " -M"
                    });
                    if args.bool("system") {
                        c.push_str(" -r");
                    }
                    Some(format!("{c} {q}"))
                }
                Some(_) if !opts.is_empty() => Some(format!("usermod{opts} {q}")),
                Some(_) => None,
            }
        };
        let Some(cmd) = cmd else {
            let mut r = result;
            if let Some(c) = &cur {
                r = r
                    .with("uid", c.uid.parse::<i64>().unwrap_or(-1))
                    .with("home", c.home.clone())
                    .with("shell", c.shell.clone());
            }
            return Ok(Plan::Done(r));
        };
        let mut preview = result;
        preview.changed = true;
        if ctx.diff {
            let before = cur.as_ref().map(Account::describe).unwrap_or_default();
            let after = if args.str("state") == Some("absent") {
                String::new()
            } else {
                format!(
                    "(after: {})\n",
                    cmd.replace(
                        &format!(
                            " -p {}",
                            sh_quote(&args.string("password").unwrap_or_default())
                        ),
                        " -p <hash>"
                    )
                )
            };
            preview
                .diffs
                .push(FileDiff::new(&format!("user {name}"), before, after));
        }
        Ok(Plan::command(preview, cmd))
    }
}
