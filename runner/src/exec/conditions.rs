//! Templated conditions and boolean keywords (when, changed_when, failed_when, until,
//! ignore_errors, no_log).

use std::sync::Arc;

use serde_json::{Map, Value};

use super::play_ctx::PlayCtx;
use super::vars::context;

pub fn bool_of(
    p: &PlayCtx,
    v: &Option<Value>,
    ctx: &minijinja::Value,
) -> Result<Option<bool>, String> {
    match v {
        None => Ok(None),
        Some(v) => p
            .shared
            .templar
            .condition(v, ctx)
            .map(Some)
            .map_err(|e| e.0),
    }
}

pub fn all_true(p: &PlayCtx, conds: &[Value], ctx: &minijinja::Value) -> Result<bool, String> {
    for c in conds {
        if !p.shared.templar.condition(c, ctx).map_err(|e| e.0)? {
            return Ok(false);
        }
    }
    Ok(true)
}

pub fn any_true(p: &PlayCtx, conds: &[Value], ctx: &minijinja::Value) -> Result<bool, String> {
    for c in conds {
        if p.shared.templar.condition(c, ctx).map_err(|e| e.0)? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The ignore_errors / no_log keywords, which may be templated.
pub fn keyword(
    p: &PlayCtx,
    v: &Option<Value>,
    vars: &Map<String, Value>,
    pp: &Arc<PlayCtx>,
) -> bool {
    match v {
        None => false,
        Some(v) => bool_of(p, &Some(v.clone()), &context(pp, vars.clone()))
            .ok()
            .flatten()
            .unwrap_or(false),
    }
}
