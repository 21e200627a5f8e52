//! uri: an HTTP request, with Ansible's arguments and result (status, content, json, the
//! response headers lower-cased with `-` as `_`), failing when the status is not one of
//! `status_code`. Ansible sends it from the host: timonel does so with curl on the host, or
//! in-process when the host is the controller (localhost, `delegate_to: localhost`). Like
//! Ansible's, the module doesn't run in check mode.

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::http::{self, Follow, Request, Response};
use crate::files::content::plan_content;
use crate::hostfs::FileKind;
use crate::spec::{arg, ArgType::*, ModuleSpec, ATTR_ARGS, SELINUX_ARGS};
use crate::{
    Apply, ApplyContext, Args, FileSource, ModResult, Module, ModuleError, ModuleResult, Plan,
    PlanContext, Work,
};

pub struct Uri;

static SPEC: ModuleSpec = ModuleSpec::new(
    "uri",
    "Send an HTTP request (from the host with curl, or from the controller for a local host) and return the response.",
    &[
        arg("url", Str, "HTTP or HTTPS URL.").required(),
        arg("method", Str, "The HTTP method, in upper case.").default("\"GET\""),
        arg("body", Raw, "The request body; encoded according to body_format."),
        arg("body_format", Str, "json (a value is serialised; sets Content-Type), form-urlencoded (a mapping or list of pairs), or raw.")
            .default("\"raw\"")
            .choices(&["form-urlencoded", "json", "raw", "form-multipart"]),
        arg("src", Path, "A file whose content is the body (on the controller; on the host with remote_src)."),
        arg("remote_src", Bool, "src is on the host.").default("false"),
        arg("headers", Dict, "Request headers.").default("{}"),
        arg("status_code", List, "Status codes that mean success.").default("[200]"),
        arg("return_content", Bool, "Return the body as `content` (JSON responses are always parsed into `json`).").default("false"),
        arg("dest", Path, "Write the body to this file on the host (a directory receives the response's file name)."),
        arg("creates", Path, "Skip the request when this path exists on the host."),
        arg("removes", Path, "Skip the request unless this path exists on the host."),
        arg("timeout", Int, "Seconds for the whole request.").default("30"),
        arg("validate_certs", Bool, "Verify the server's TLS certificate.").default("true"),
        arg("url_username", Str, "User for HTTP authentication.").aliases(&["user"]),
        arg("url_password", Str, "Password for HTTP authentication (never shown).").aliases(&["password"]),
        arg("force_basic_auth", Bool, "Send Basic credentials with the first request instead of after a 401.").default("false"),
        arg("follow_redirects", Str, "safe (GET and HEAD only), all, or none.")
            .default("\"safe\"")
            .choices(&["all", "no", "none", "safe", "urllib2", "yes"]),
        arg("force", Bool, "Don't send If-Modified-Since for an existing dest; ask caches not to answer.").default("false"),
        arg("http_agent", Str, "The User-Agent header.").default("\"ansible-httpget\""),
        arg("use_proxy", Bool, "Use the proxy of the environment (http_proxy, https_proxy).").default("true"),
        arg("ca_path", Path, "A PEM bundle of CA certificates to trust (on the sending side)."),
        arg("use_netrc", Bool, "Use ~/.netrc credentials (curl on the host only).").default("true"),
        arg("decompress", Bool, "Accepted; responses are not requested compressed.").default("true"),
        arg("unredirected_headers", List, "Accepted; credentials are not sent to another host on redirect."),
        arg("client_cert", Path, "Not supported by timonel."),
        arg("client_key", Path, "Not supported by timonel."),
        arg("unix_socket", Path, "Not supported by timonel."),
        arg("ciphers", List, "Not supported by timonel."),
        arg("use_gssapi", Bool, "Not supported by timonel.").default("false"),
        arg("attributes", Str, "Not supported by timonel.").aliases(&["attr"]),
        arg("unsafe_writes", Bool, "Accepted; writes are always atomic."),
        ATTR_ARGS[0],
        ATTR_ARGS[1],
        ATTR_ARGS[2],
        SELINUX_ARGS[0],
        SELINUX_ARGS[1],
        SELINUX_ARGS[2],
        SELINUX_ARGS[3],
    ],
)
.exclusive(&[&["body", "src"]])
.also_known_as(&["ansible.builtin.uri"]);

struct Send;

#[async_trait]
impl Module for Uri {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    /// Ansible's uri doesn't run in check mode: it is reported as skipped.
    fn supports_check_mode(&self) -> bool {
        false
    }

    async fn plan(&self, _ctx: &PlanContext<'_>, _args: &Args) -> ModResult<Plan> {
        // Whether to send, and what, is decided when it runs (creates/removes, dest): in check
        // mode the module doesn't run at all, as in Ansible.
        Ok(Plan::change(ModuleResult::ok(), Work::custom(Send)))
    }
}

fn fail(msg: impl Into<String>) -> ModuleError {
    ModuleError::Failed(msg.into())
}

/// Python's repr of the status_code list: `[200, 201]`.
fn codes_repr(codes: &[i64]) -> String {
    format!(
        "[{}]",
        codes
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    )
}

fn status_codes(args: &Args) -> ModResult<Vec<i64>> {
    args.list("status_code")
        .iter()
        .map(|v| match v {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        })
        .map(|c| {
            c.ok_or_else(|| {
                fail(format!(
                    "argument 'status_code' must be a list of integers, got {}",
                    crate::spec::describe(args.get("status_code").unwrap_or(&Value::Null))
                ))
            })
        })
        .collect()
}

fn header_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        other => other.to_string(),
    }
}

/// The request the arguments describe (the body from src already read).
fn request(args: &Args, body: Option<Vec<u8>>, if_modified: Option<i64>) -> ModResult<Request> {
    let url = args.string("url").unwrap_or_default();
    let method = args
        .string("method")
        .unwrap_or_default()
        .to_ascii_uppercase();
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(fail(
            "Parameter 'method' needs to be a single word in uppercase, like GET or POST.",
        ));
    }
    for unsupported in ["client_cert", "client_key", "unix_socket", "ciphers"] {
        if args.get(unsupported).is_some() {
            return Err(fail(format!(
                "uri: '{unsupported}' is not supported by timonel"
            )));
        }
    }
    if args.bool("use_gssapi") {
        return Err(fail("uri: 'use_gssapi' is not supported by timonel"));
    }
    let mut headers: Vec<(String, String)> = match args.get("headers") {
        Some(Value::Object(m)) => m.iter().map(|(k, v)| (k.clone(), header_text(v))).collect(),
        _ => vec![],
    };
    let has =
        |hs: &[(String, String)], name: &str| hs.iter().any(|(k, _)| k.eq_ignore_ascii_case(name));
    let format = args.str("body_format").unwrap_or("raw");
    let body = match (body, args.get("body")) {
        (Some(b), _) => Some(b),
        (None, None) => None,
        (None, Some(v)) => Some(
            match format {
                "json" => {
                    if !has(&headers, "content-type") {
                        headers.push(("Content-Type".into(), "application/json".into()));
                    }
                    match v {
                        Value::String(s) => s.clone(),
                        other => http::json_dumps(other),
                    }
                }
                "form-urlencoded" => {
                    if !has(&headers, "content-type") {
                        headers.push((
                            "Content-Type".into(),
                            "application/x-www-form-urlencoded".into(),
                        ));
                    }
                    http::form_urlencoded(v).map_err(|e| {
                        fail(format!("failed to parse body as form_urlencoded: {e}"))
                    })?
                }
                "form-multipart" => {
                    return Err(fail(
                        "uri: body_format 'form-multipart' is not supported by timonel",
                    ))
                }
                _ => header_text(v),
            }
            .into_bytes(),
        ),
    };
    if !has(&headers, "user-agent") {
        if let Some(agent) = args.str("http_agent") {
            headers.push(("User-Agent".into(), agent.to_string()));
        }
    }
    if args.bool("force") {
        headers.push(("cache-control".into(), "no-cache".into()));
    } else if let Some(t) = if_modified {
        headers.push(("If-Modified-Since".into(), http::http_date(t)));
    }
    let auth = args
        .string("url_username")
        .map(|u| (u, args.string("url_password").unwrap_or_default()));
    Ok(Request {
        url,
        method,
        headers,
        body,
        timeout_secs: args.int("timeout").unwrap_or(30).max(1) as u64,
        validate_certs: args.bool("validate_certs"),
        auth,
        force_basic: args.bool("force_basic_auth"),
        follow: Follow::parse(args.str("follow_redirects").unwrap_or("safe")),
        use_proxy: args.bool("use_proxy"),
        ca_path: args.string("ca_path"),
    })
}

/// Whether a Content-Type is JSON (`application/json`, `text/javascript`, `...+json`), and
/// its charset.
fn content_type(resp: &Response) -> (bool, Option<String>) {
    let Some(ct) = resp.header("content-type") else {
        return (false, None);
    };
    let mut parts = ct.split(';');
    let mime = parts.next().unwrap_or("").trim().to_ascii_lowercase();
    let sub = mime.split_once('/').map(|(_, s)| s).unwrap_or("");
    let sub = sub.split_once('+').map(|(_, s)| s).unwrap_or(sub);
    let charset = parts
        .filter_map(|p| p.trim().split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("charset"))
        .map(|(_, v)| v.trim().trim_matches('"').to_string());
    (matches!(sub, "json" | "javascript"), charset)
}

/// `name=value` of each Set-Cookie header.
fn cookies(resp: &Response) -> Map<String, Value> {
    let mut out = Map::new();
    let Some(all) = resp.header("set-cookie") else {
        return out;
    };
    // Repeated headers were joined with ", "; an Expires date has a comma too, so a piece
    // that has no '=' before its first ';' belongs to the previous cookie.
    for piece in all.split(", ") {
        let first = piece.split(';').next().unwrap_or("");
        if let Some((k, v)) = first.split_once('=') {
            if !k.trim().is_empty() && !k.contains(' ') {
                out.insert(k.trim().to_string(), Value::String(v.trim().to_string()));
            }
        }
    }
    out
}

/// Replaces the password wherever it shows in the result, as Ansible's no_log values are.
fn hide(v: &mut Value, secret: &str) {
    match v {
        Value::String(s) if s.contains(secret) => *s = s.replace(secret, "********"),
        Value::Array(a) => a.iter_mut().for_each(|x| hide(x, secret)),
        Value::Object(m) => m.values_mut().for_each(|x| hide(x, secret)),
        _ => {}
    }
}

/// Ansible's result of a response: the headers under their lower-case names with `-` as
/// `_`, then url, status, msg, redirected, elapsed, cookies, and `json` for a JSON body.
fn result_of(resp: &Response, return_content: bool, elapsed: u64) -> ModuleResult {
    let mut r = ModuleResult::ok();
    for (k, v) in &resp.headers {
        r.data.insert(k.replace('-', "_"), Value::String(v.clone()));
    }
    if let Some(loc) = resp.header("location") {
        let joined = reqwest::Url::parse(&resp.url)
            .and_then(|base| base.join(loc))
            .map(|u| u.to_string())
            .unwrap_or_else(|_| loc.to_string());
        r.data.insert("location".into(), joined.into());
    }
    r.data.insert("url".into(), resp.url.clone().into());
    r.data.insert("status".into(), resp.status.into());
    r.data.insert("redirected".into(), resp.redirected.into());
    r.data.insert("elapsed".into(), elapsed.into());
    if (200..300).contains(&resp.status) {
        let jar = cookies(resp);
        let s = jar
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
            .collect::<Vec<_>>()
            .join("; ");
        r.data.insert("cookies_string".into(), s.into());
        r.data.insert("cookies".into(), Value::Object(jar));
    }
    let (is_json, _charset) = content_type(resp);
    // Bodies are decoded as UTF-8 (invalid bytes replaced), the charset nearly every API uses.
    let text = String::from_utf8_lossy(&resp.body).into_owned();
    if is_json {
        if let Ok(js) = serde_json::from_str::<Value>(&text) {
            r.data.insert("json".into(), js);
        }
    }
    if return_content {
        r.data.insert("content".into(), text.into());
    }
    r.msg = Some(resp.msg.clone());
    r
}

#[async_trait]
impl Apply for Send {
    async fn apply(
        self: Box<Self>,
        ctx: &ApplyContext<'_>,
        args: &Args,
        _preview: ModuleResult,
    ) -> ModResult<ModuleResult> {
        if let Some(c) = args.str("creates") {
            if ctx.host.stat(c, true).await?.is_some() {
                return Ok(
                    ModuleResult::ok().with("stdout", format!("skipped, since '{c}' exists"))
                );
            }
        }
        if let Some(r) = args.str("removes") {
            if ctx.host.stat(r, true).await?.is_none() {
                return Ok(ModuleResult::ok()
                    .with("stdout", format!("skipped, since '{r}' does not exist")));
            }
        }
        let codes = status_codes(args)?;
        let body = match args.str("src") {
            None => None,
            Some(src) if args.bool("remote_src") => Some(
                ctx.host
                    .read(src)
                    .await?
                    .ok_or_else(|| fail(format!("Unable to open source file {src}")))?,
            ),
            Some(src) => {
                let path = ctx
                    .controller
                    .find_file(FileSource::Files, src)
                    .map_err(fail)?;
                Some(std::fs::read(&path).map_err(|e| {
                    fail(format!(
                        "Unable to open source file {}: {e}",
                        path.display()
                    ))
                })?)
            }
        };
        let mut dest = args.string("dest");
        let dest_stat = match &dest {
            Some(d) => ctx.host.stat(d, true).await?,
            None => None,
        };
        let if_modified = dest_stat
            .as_ref()
            .filter(|s| s.kind == FileKind::File)
            .map(|s| s.mtime);
        let req = request(args, body, if_modified)?;
        let started = std::time::Instant::now();
        let resp = if ctx.host.conn.is_local() {
            super::reqwest_client::send(&req).await
        } else {
            super::curl::send(&ctx.host, &req).await?
        };
        let elapsed = started.elapsed().as_secs();
        let return_content = args.bool("return_content");
        let mut r = result_of(&resp, return_content, elapsed);
        if resp.status != -1 {
            if let Some(d) = dest.as_mut() {
                if dest_stat
                    .as_ref()
                    .is_some_and(|s| s.kind == FileKind::Directory)
                {
                    let name =
                        http::response_filename(&resp).unwrap_or_else(|| "index.html".to_string());
                    *d = format!("{}/{name}", d.trim_end_matches('/'));
                }
                if codes.contains(&resp.status) && resp.status != 304 {
                    let plan = plan_content(
                        &ctx.plan_view(),
                        d,
                        resp.body.clone(),
                        args.attrs(),
                        false,
                        None,
                    )
                    .await?;
                    if let Plan::Change { preview, work } = plan {
                        work.apply(ctx, args, preview).await?;
                    }
                    // Ansible reports a written dest as changed even when it was the same.
                    r.changed = true;
                }
                r.data.insert("path".into(), d.clone().into());
            }
        }
        if !codes.contains(&resp.status) {
            r.failed = true;
            r.msg = Some(format!(
                "Status code was {} and not {}: {}",
                resp.status,
                codes_repr(&codes),
                resp.msg
            ));
        }
        if let Some(p) = args.str("url_password").filter(|p| !p.is_empty()) {
            r.data.values_mut().for_each(|v| hide(v, p));
            if let Some(m) = r.msg.as_mut() {
                *m = m.replace(p, "********");
            }
        }
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn response(headers: &[(&str, &str)], body: &str, status: i64) -> Response {
        let mut r = Response {
            status,
            url: "http://h/api".into(),
            body: body.as_bytes().to_vec(),
            ..Default::default()
        };
        for (k, v) in headers {
            r.add_header(k, v);
        }
        r.set_msg(None);
        r
    }

    #[test]
    fn result_has_headers_json_and_cookies_as_ansible_names_them() {
        let resp = response(
            &[
                ("Content-Type", "application/vnd.api+json; charset=utf-8"),
                ("X-Request-Id", "7"),
                (
                    "Set-Cookie",
                    "sid=abc; Path=/; Expires=Wed, 21 Oct 2026 07:28:00 GMT",
                ),
                ("Set-Cookie", "lang=en"),
                ("Location", "/next"),
                ("Content-Length", "8"),
            ],
            "{\"a\": 1}",
            200,
        );
        let r = result_of(&resp, false, 0);
        assert_eq!(r.data["x_request_id"], "7");
        assert_eq!(
            r.data["content_type"],
            "application/vnd.api+json; charset=utf-8"
        );
        assert_eq!(r.data["json"], json!({"a": 1}));
        assert_eq!(r.data["cookies"], json!({"sid": "abc", "lang": "en"}));
        assert_eq!(r.data["location"], "http://h/next");
        assert_eq!(r.msg.as_deref(), Some("OK (8 bytes)"));
        assert!(!r.data.contains_key("content"));
    }

    #[test]
    fn bodies_are_encoded_as_ansible_encodes_them() {
        let spec = Uri.spec();
        let args = |v: Value| spec.validate(v.as_object().unwrap(), false).unwrap();
        let req = request(
            &args(json!({"url": "http://h", "method": "post", "body_format": "json", "body": {"k": [1]}})),
            None,
            None,
        )
        .unwrap();
        assert_eq!(req.method, "POST");
        assert_eq!(req.body.as_deref(), Some(&b"{\"k\": [1]}"[..]));
        assert!(req
            .headers
            .contains(&("Content-Type".into(), "application/json".into())));
        assert!(req
            .headers
            .contains(&("User-Agent".into(), "ansible-httpget".into())));
        let bad = request(
            &args(json!({"url": "http://h", "method": "GET x"})),
            None,
            None,
        );
        assert!(bad.is_err());
    }

    #[test]
    fn status_codes_print_as_a_python_list() {
        assert_eq!(codes_repr(&[200, 201]), "[200, 201]");
    }
}
