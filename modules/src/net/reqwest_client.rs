//! Sends a [`Request`] from the controller (for hosts that are the controller: a local
//! connection, `delegate_to: localhost`).

use std::time::Duration;

use super::http::{mask_url, Request, Response, MAX_REDIRECTS};

/// The innermost cause of an error ("Connection refused (os error 111)"), which is what a
/// user needs; reqwest's outer layers only say that sending failed.
fn cause(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return "timed out".into();
    }
    let mut last: &dyn std::error::Error = e;
    while let Some(s) = last.source() {
        last = s;
    }
    last.to_string()
}

fn client(req: &Request) -> Result<reqwest::Client, String> {
    let policy = if req.follow.follows(&req.method) {
        reqwest::redirect::Policy::limited(MAX_REDIRECTS)
    } else {
        reqwest::redirect::Policy::none()
    };
    let mut b = reqwest::Client::builder()
        .timeout(Duration::from_secs(req.timeout_secs.max(1)))
        .redirect(policy)
        .tls_danger_accept_invalid_certs(!req.validate_certs);
    if !req.use_proxy {
        b = b.no_proxy();
    }
    if let Some(ca) = &req.ca_path {
        let pem = std::fs::read(ca).map_err(|e| format!("cannot read ca_path {ca}: {e}"))?;
        for c in reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| format!("ca_path {ca} holds no PEM certificates: {e}"))?
        {
            b = b.add_root_certificate(c);
        }
    }
    b.build().map_err(|e| cause(&e))
}

async fn send_once(
    client: &reqwest::Client,
    req: &Request,
    with_auth: bool,
) -> Result<reqwest::Response, reqwest::Error> {
    let method = reqwest::Method::from_bytes(req.method.as_bytes()).unwrap_or(reqwest::Method::GET);
    let mut rb = client.request(method, &req.url);
    for (k, v) in &req.headers {
        rb = rb.header(k.as_str(), v.as_str());
    }
    if with_auth {
        if let Some((u, p)) = &req.auth {
            rb = rb.basic_auth(u, Some(p));
        }
    }
    if let Some(body) = &req.body {
        rb = rb.body(body.clone());
    }
    rb.send().await
}

/// Sends the request; a failure to get any response is a response with status -1, as in
/// Ansible's result.
pub async fn send(req: &Request) -> Response {
    let client = match client(req) {
        Ok(c) => c,
        Err(e) => return Response::failed(&req.url, &e),
    };
    let mut sent = send_once(&client, req, req.force_basic).await;
    // Without force_basic_auth the credentials answer a 401 challenge, as urllib's
    // HTTPBasicAuthHandler does.
    if !req.force_basic
        && req.auth.is_some()
        && matches!(&sent, Ok(r) if r.status() == reqwest::StatusCode::UNAUTHORIZED)
    {
        sent = send_once(&client, req, true).await;
    }
    let resp = match sent {
        Ok(r) => r,
        Err(e) => return Response::failed(&req.url, &format!("<urlopen error {}>", cause(&e))),
    };
    let requested = reqwest::Url::parse(&req.url).ok();
    let redirected = requested.as_ref() != Some(resp.url());
    let mut out = Response {
        status: i64::from(resp.status().as_u16()),
        url: if redirected {
            mask_url(resp.url().as_str())
        } else {
            mask_url(&req.url)
        },
        redirected,
        ..Default::default()
    };
    for (k, v) in resp.headers() {
        out.add_header(k.as_str(), &String::from_utf8_lossy(v.as_bytes()));
    }
    let reason = resp.status().canonical_reason().map(str::to_string);
    out.body = match resp.bytes().await {
        Ok(b) => b.to_vec(),
        Err(e) => {
            return Response::failed(
                &req.url,
                &format!("reading the response failed: {}", cause(&e)),
            )
        }
    };
    out.set_msg(reason.as_deref());
    out
}
