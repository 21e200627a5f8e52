//! The one module every kind of Hetzner resource is: found by name, created when missing,
//! brought to what the arguments say by the kind's update rules, or deleted; registered as
//! `hcloud_<kind>`. A kind is a [`Resource`], a description: its spec, its create body, its
//! update rules (in place, by an action, or only at creation) and its registered shape.

use std::time::Duration;

use async_trait::async_trait;
use serde_json::{json, Map, Value};

use super::calls::{run, Kind, Op};
use super::{describe, labels};
use crate::clients::hetzner::{Client, Obj};
use crate::spec::ModuleSpec;
use crate::{
    Apply, ApplyContext, Args, FileDiff, ModResult, Module, ModuleError, ModuleResult, Plan,
    PlanContext, Work, KNOWN_AFTER_APPLY,
};

/// One kind of resource, as its `hetzner_<kind>` module manages it.
#[async_trait]
pub trait Resource: Clone + Send + Sync + 'static {
    /// What a task names besides the resource (its networks, firewalls, target servers), by
    /// ID; looked up before the plan, and kept for the registered result.
    type Refs: Send + Sync + 'static;

    const KIND: Kind;
    /// The fields `--diff` shows, in order.
    const FIELDS: &'static [&'static str];

    fn spec(&self) -> &'static ModuleSpec;

    /// Looks up what the arguments name; one that doesn't exist is noted with
    /// [`Notes::missing`] (an earlier task may create it).
    async fn refs(&self, client: &Client, args: &Args, notes: &mut Notes) -> ModResult<Self::Refs>;

    /// The resource as `--diff` shows it (flattened, one line per rule...).
    fn shown(&self, obj: &Obj, _refs: &Self::Refs) -> Map<String, Value> {
        obj.0.clone()
    }

    /// The body that creates it, and the new resource as `--diff` shows it.
    async fn create(
        &self,
        client: &Client,
        args: &Args,
        refs: &Self::Refs,
        notes: &mut Notes,
    ) -> ModResult<(Value, Map<String, Value>)>;

    /// The update rules: the calls that bring `u.found` to what the arguments say.
    fn update(&self, args: &Args, refs: &Self::Refs, u: &mut Update<'_>) -> ModResult<()>;

    /// The calls that delete it.
    fn delete(&self, found: &Obj) -> Vec<Op> {
        vec![Op::Delete(id(found))]
    }

    /// The registered result, with the collection's keys.
    fn registered(&self, obj: &Obj, refs: &Self::Refs) -> Value;

    /// The registered result of one `--check` would create: what the arguments say, and
    /// [`KNOWN_AFTER_APPLY`] for what only the API assigns (its ID, its addresses), so
    /// later tasks plan through with it.
    fn planned(&self, args: &Args, body: &Value, refs: &Self::Refs) -> Value;

    /// How long each of its actions may take.
    fn timeout(&self, _args: &Args) -> Duration {
        Duration::from_secs(300)
    }
}

/// The value of what only applying can tell.
pub fn unknown() -> Value {
    json!(KNOWN_AFTER_APPLY)
}

/// For a `--diff` of a creation, as Terraform's plan reads: `ipv4_address: (known after
/// apply)` for each registered value only the API will tell (unless the diff shows it).
fn unknown_lines(planned: &Value, shown: &Map<String, Value>) -> String {
    planned
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, v)| v.as_str() == Some(KNOWN_AFTER_APPLY) && !shown.contains_key(*k))
        .map(|(k, _)| format!("{k}: {KNOWN_AFTER_APPLY}\n"))
        .collect()
}

/// An object's ID (0 for an object the API sent without one).
pub fn id(obj: &Obj) -> u64 {
    obj["id"].as_u64().unwrap_or_default()
}

/// The module a [`Resource`] description makes.
pub struct Hcloud<R>(pub R);

/// The calls an existing resource needs, and the resource as they would leave it (in the
/// API's shape, for `--diff`).
pub struct Update<'a> {
    pub found: &'a Obj,
    pub id: u64,
    pub now: Obj,
    pub ops: Vec<Op>,
    pub notes: &'a mut Notes,
    what: &'static str,
}

impl Update<'_> {
    /// One of the resource's actions.
    pub fn action(&mut self, action: &'static str, body: Value) {
        self.ops.push(Op::Action(self.id, action, body));
    }

    /// Labels are updated in place.
    pub fn labels(&mut self, args: &Args) {
        let have = labels(self.found.get("labels")).unwrap_or_default();
        if let Some(l) = labels(args.get("labels")).filter(|l| *l != have) {
            self.now.insert("labels".into(), Value::Object(l.clone()));
            self.ops.push(Op::Update(self.id, json!({ "labels": l })));
        }
    }

    /// A field that only creating sets: a different wanted value is reported, never
    /// silently ignored.
    pub fn create_only(&mut self, field: &str, want: Option<String>, have: &Value) {
        if let Some(want) = want.filter(|w| Some(w.as_str()) != have.as_str()) {
            self.notes.push(format!(
                "{field} is {} (not {want}): it is set only when the {} is created",
                have.as_str().unwrap_or("unset"),
                self.what
            ));
        }
    }
}

#[async_trait]
impl<R: Resource> Module for Hcloud<R> {
    fn spec(&self) -> &'static ModuleSpec {
        self.0.spec()
    }

    async fn plan(&self, ctx: &PlanContext<'_>, args: &Args) -> ModResult<Plan> {
        let r = &self.0;
        let key = format!("hcloud_{}", R::KIND.one);
        let client = Client::from_args(args)?;
        let name = args.string("name").unwrap_or_default();
        let found = client.find_by_name(R::KIND.path, &name).await?;
        let mut notes = Notes::default();
        let refs = r.refs(&client, args, &mut notes).await?;
        let show = |o: &Obj| describe(&r.shown(o, &refs), R::FIELDS);
        let before = found.as_ref().map(&show).unwrap_or_default();
        let absent = args.str("state") == Some("absent");
        let (ops, after, registered) = match &found {
            None if absent => return Ok(Plan::Done(ModuleResult::ok().with(&key, json!({})))),
            Some(f) if absent => (r.delete(f), String::new(), r.registered(f, &refs)),
            None => {
                let (body, shown) = r.create(&client, args, &refs, &mut notes).await?;
                let planned = r.planned(args, &body, &refs);
                let after = describe(&shown, R::FIELDS) + &unknown_lines(&planned, &shown);
                (vec![Op::Create(body)], after, planned)
            }
            Some(f) => {
                let mut u = Update {
                    found: f,
                    id: id(f),
                    now: f.clone(),
                    ops: vec![],
                    notes: &mut notes,
                    what: R::KIND.what,
                };
                r.update(args, &refs, &mut u)?;
                let after = show(&u.now);
                (u.ops, after, r.registered(f, &refs))
            }
        };
        let label = format!("hetzner {} {name}", R::KIND.one);
        let result = ModuleResult::ok().with(&key, registered);
        let r = r.clone();
        Ok(finish(
            ctx,
            label,
            result,
            notes,
            (before, after),
            ops,
            |ops| Work::custom(Calls { r, ops, refs }),
        ))
    }
}

/// A resource's calls; registers the resource as they leave it (`{}` once deleted).
struct Calls<R: Resource> {
    r: R,
    ops: Vec<Op>,
    refs: R::Refs,
}

#[async_trait]
impl<R: Resource> Apply for Calls<R> {
    async fn apply(
        self: Box<Self>,
        ctx: &ApplyContext<'_>,
        args: &Args,
        preview: ModuleResult,
    ) -> ModResult<ModuleResult> {
        let client = Client::from_args(args)?;
        let name = args.string("name").unwrap_or_default();
        let Calls { r, ops, refs } = *self;
        let obj = run(&client, &R::KIND, ops, r.timeout(args), ctx.controller)
            .await
            .map_err(|e| match e {
                ModuleError::Failed(m) => {
                    ModuleError::Failed(format!("{} '{name}': {m}", R::KIND.what))
                }
                other => other,
            })?;
        let value = match obj.as_object() {
            Some(o) if !o.is_empty() => r.registered(&Obj(o.clone()), &refs),
            _ => json!({}),
        };
        Ok(preview.with(&format!("hcloud_{}", R::KIND.one), value))
    }
}

/// What a plan says besides its calls: notes for the result's message, and references to
/// resources that don't exist yet (an earlier task would create them).
#[derive(Default)]
pub struct Notes {
    lines: Vec<String>,
    missing: Option<String>,
}

impl Notes {
    pub fn push(&mut self, note: String) {
        self.lines.push(note);
    }

    /// A referenced resource that doesn't exist: `note` in check mode, where an earlier task
    /// may not have made it yet; `error` in a real run.
    pub fn missing(&mut self, note: String, error: String) {
        self.lines.push(note);
        self.missing.get_or_insert(error);
    }
}

/// The end of a plan: nothing to do, or a change shown as `before` -> `after` whose calls
/// `work` carries out; unknown while a referenced resource is missing.
pub fn finish(
    ctx: &PlanContext<'_>,
    label: String,
    mut result: ModuleResult,
    notes: Notes,
    (before, after): (String, String),
    ops: Vec<Op>,
    work: impl FnOnce(Vec<Op>) -> Work,
) -> Plan {
    if !notes.lines.is_empty() {
        result.msg = Some(notes.lines.join("; "));
    }
    if ops.is_empty() && notes.missing.is_none() {
        return Plan::Done(result);
    }
    result.changed = true;
    if ctx.diff {
        result = result.with_diff(FileDiff::new(&label, before, after));
    }
    match notes.missing {
        Some(reason) => Plan::Unknown {
            preview: result,
            reason,
        },
        None => Plan::change(result, work(ops)),
    }
}
