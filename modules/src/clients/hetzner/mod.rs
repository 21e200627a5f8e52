//! The Hetzner Cloud API client the hetzner_* modules and the inventory source share: the
//! bearer token (never printed), the endpoint, pagination, and retries where the API says to
//! retry (429 until `RateLimit-Reset`, 5xx, `conflict`, `locked`), with every error reported
//! as the API's own `code` and `message`.

mod bucket;
mod objects;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::{Method, StatusCode, Url};
use serde_json::Value;

use bucket::{observe, take};
pub use objects::{location, Obj};

use crate::{Args, Controller, ModResult, ModuleError};

pub const DEFAULT_ENDPOINT: &str = "https://api.hetzner.cloud/v1";
const TRIES: u32 = 6;
const MAX_WAIT: Duration = Duration::from_secs(60);
pub struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
}

/// An API error as the API reports it.
fn api_error(what: &str, status: StatusCode, body: &Value) -> ModuleError {
    let e = &body["error"];
    let code = e["code"].as_str().unwrap_or("unknown");
    let msg = e["message"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| status.to_string());
    let hint = match code {
        "unauthorized" => ": check the token (HCLOUD_TOKEN or api_token)",
        "forbidden" => ": the token is read-only, or lacks access to this project",
        _ => "",
    };
    let fields: Vec<&str> = e["details"]["fields"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["name"].as_str())
        .collect();
    let fields = if fields.is_empty() {
        String::new()
    } else {
        format!(" (fields: {})", fields.join(", "))
    };
    ModuleError::Failed(format!("Hetzner API {what}: {code}: {msg}{fields}{hint}"))
}

/// How long to wait before the next try, or None when the error is final.
fn retry_after(
    status: StatusCode,
    code: &str,
    headers: &reqwest::header::HeaderMap,
    try_no: u32,
) -> Option<Duration> {
    let backoff = Duration::from_millis(500 * 2u64.pow(try_no.min(6)));
    if status == StatusCode::TOO_MANY_REQUESTS || code == "rate_limit_exceeded" {
        let reset = headers
            .get("RateLimit-Reset")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        return Some(match reset {
            Some(r) if r > now => Duration::from_secs(r - now).min(MAX_WAIT),
            _ => backoff,
        });
    }
    (status.is_server_error() || matches!(code, "conflict" | "locked" | "timeout"))
        .then_some(backoff.min(MAX_WAIT))
}

impl Client {
    /// From a module's `api_token` / `api_endpoint`, else HCLOUD_TOKEN / HCLOUD_ENDPOINT.
    pub fn from_args(args: &Args) -> ModResult<Client> {
        Client::new(args.string("api_token"), args.string("api_endpoint"))
    }

    /// With this token and endpoint, else HCLOUD_TOKEN / HCLOUD_ENDPOINT.
    pub fn new(token: Option<String>, endpoint: Option<String>) -> ModResult<Client> {
        let token = token
            .or_else(|| std::env::var("HCLOUD_TOKEN").ok())
            .filter(|t| !t.trim().is_empty())
            .ok_or_else(|| {
                ModuleError::Failed(
                    "no Hetzner Cloud API token: set HCLOUD_TOKEN, or the module's api_token argument"
                        .into(),
                )
            })?;
        let base = endpoint
            .or_else(|| std::env::var("HCLOUD_ENDPOINT").ok())
            .unwrap_or_else(|| DEFAULT_ENDPOINT.into());
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .user_agent(concat!("timonel/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ModuleError::Failed(format!("cannot make an HTTP client: {e}")))?;
        Ok(Client {
            http,
            base: base.trim_end_matches('/').to_string(),
            token: token.trim().to_string(),
        })
    }

    /// One API call; `Value::Null` for an empty (204) answer.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> ModResult<Value> {
        let what = format!("{method} {path}");
        let mut url = Url::parse(&format!("{}{path}", self.base)).map_err(|e| {
            ModuleError::Failed(format!("bad Hetzner API endpoint {}: {e}", self.base))
        })?;
        if !query.is_empty() {
            url.query_pairs_mut()
                .extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        for try_no in 1..=TRIES {
            let _ticket = take().await;
            let mut req = self
                .http
                .request(method.clone(), url.clone())
                .bearer_auth(&self.token);
            if let Some(b) = body {
                req = req
                    .header("Content-Type", "application/json")
                    .body(b.to_string());
            }
            let resp = match req.send().await {
                Ok(r) => r,
                Err(e) if try_no < TRIES && (e.is_connect() || e.is_timeout()) => {
                    tokio::time::sleep(Duration::from_secs(u64::from(try_no))).await;
                    continue;
                }
                Err(e) => {
                    return Err(ModuleError::Failed(format!(
                        "Hetzner API {what}: cannot reach {}: {e}",
                        self.base
                    )))
                }
            };
            let status = resp.status();
            let headers = resp.headers().clone();
            observe(&headers);
            let bytes = resp.bytes().await.unwrap_or_default();
            let json: Value = if bytes.is_empty() {
                Value::Null
            } else {
                serde_json::from_slice(&bytes).map_err(|e| {
                    ModuleError::Failed(format!(
                        "Hetzner API {what}: HTTP {status} with a body that is not JSON: {e}"
                    ))
                })?
            };
            if status.is_success() {
                return Ok(json);
            }
            let code = json["error"]["code"].as_str().unwrap_or("");
            match retry_after(status, code, &headers, try_no) {
                Some(wait) if try_no < TRIES => tokio::time::sleep(wait).await,
                _ => return Err(api_error(&what, status, &json)),
            }
        }
        unreachable!("the last try returns")
    }

    pub async fn get(&self, path: &str) -> ModResult<Value> {
        self.call(Method::GET, path, &[], None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> ModResult<Value> {
        self.call(Method::POST, path, &[], Some(body)).await
    }

    pub async fn put(&self, path: &str, body: &Value) -> ModResult<Value> {
        self.call(Method::PUT, path, &[], Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> ModResult<Value> {
        self.call(Method::DELETE, path, &[], None).await
    }

    /// Every object of a collection (`/ssh_keys` -> "ssh_keys"), all pages.
    pub async fn list(&self, path: &str, filters: &[(&str, String)]) -> ModResult<Vec<Value>> {
        let key = path.trim_start_matches('/');
        let mut out = vec![];
        let mut page = 1u64;
        loop {
            let mut q = filters.to_vec();
            q.push(("page", page.to_string()));
            q.push(("per_page", "50".into()));
            let v = self.call(Method::GET, path, &q, None).await?;
            out.extend(v[key].as_array().cloned().unwrap_or_default());
            match v["meta"]["pagination"]["next_page"].as_u64() {
                Some(n) if n > page => page = n,
                _ => return Ok(out),
            }
        }
    }

    /// Waits until an action (as the API returned it) has finished, telling `progress` its
    /// command and percentage; its error, named by the command, if it failed.
    pub async fn wait_action(
        &self,
        action: &Value,
        timeout: Duration,
        progress: &dyn Controller,
    ) -> ModResult<()> {
        let start = std::time::Instant::now();
        let mut a = action.clone();
        loop {
            let command = a["command"].as_str().unwrap_or("action").to_string();
            progress.progress(&format!(
                "{command} {}%",
                a["progress"].as_u64().unwrap_or(0)
            ));
            match a["status"].as_str() {
                Some("success") => return Ok(()),
                Some("error") => {
                    return Err(ModuleError::Failed(format!(
                        "Hetzner API action {command} ({}) failed: {}: {}",
                        a["id"],
                        a["error"]["code"].as_str().unwrap_or("unknown"),
                        a["error"]["message"].as_str().unwrap_or("")
                    )))
                }
                _ if start.elapsed() > timeout => {
                    return Err(ModuleError::Failed(format!(
                        "Hetzner API action {command} ({}) still running after {}s",
                        a["id"],
                        timeout.as_secs()
                    )))
                }
                _ => {}
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
            a = self.get(&format!("/actions/{}", a["id"])).await?["action"].clone();
        }
    }

    /// The object of that name, if any (names are unique per project and kind).
    pub async fn find_by_name(&self, path: &str, name: &str) -> ModResult<Option<Obj>> {
        let found = self.list(path, &[("name", name.to_string())]).await?;
        Ok(found
            .into_iter()
            .find(|o| o["name"] == name)
            .and_then(|o| o.as_object().cloned())
            .map(Obj))
    }
}
