//! Sends a [`Request`] with curl on the host, as Ansible sends it from the host. The request
//! (URL, headers, credentials) goes to curl as a config file on its stdin, never on a command
//! line, so no password shows in `ps` or in a logged command.

use super::http::{mask_url, Request, Response, MAX_REDIRECTS};
use crate::hostfs::Host;
use crate::{ModResult, ModuleError};

/// Printed by the script when the host has no curl.
const NO_CURL: &str = "timonel: no curl";

/// A value quoted for a curl config file.
fn quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// curl's config for the request (everything but the body).
pub fn config(req: &Request) -> String {
    let mut c = vec![
        format!("url = {}", quoted(&req.url)),
        "globoff".to_string(),
        "silent".to_string(),
        "show-error".to_string(),
        format!("max-time = {}", req.timeout_secs.max(1)),
    ];
    if req.method == "HEAD" {
        c.push("head".into());
    } else {
        c.push(format!("request = {}", quoted(&req.method)));
    }
    for (k, v) in &req.headers {
        c.push(format!("header = {}", quoted(&format!("{k}: {v}"))));
    }
    if let Some((u, p)) = &req.auth {
        c.push(format!("user = {}", quoted(&format!("{u}:{p}"))));
        // Without force_basic_auth the credentials answer the server's challenge.
        c.push(if req.force_basic { "basic" } else { "anyauth" }.into());
    }
    if !req.validate_certs {
        c.push("insecure".into());
    }
    if req.follow.follows(&req.method) {
        c.push("location".into());
        c.push(format!("max-redirs = {MAX_REDIRECTS}"));
    }
    if !req.use_proxy {
        c.push("noproxy = \"*\"".into());
    }
    if let Some(ca) = &req.ca_path {
        c.push(format!("cacert = {}", quoted(ca)));
    }
    c.push("netrc-optional".into());
    c.join("\n") + "\n"
}

/// The script run on the host: curl's config then the body arrive on stdin; it prints curl's
/// exit code, `<status> <redirects> <url>`, the size of the headers, the headers, the body.
pub fn script(config_len: usize, has_body: bool) -> String {
    let data = if has_body {
        " --data-binary \"@$d/b\""
    } else {
        ""
    };
    format!(
        "command -v curl >/dev/null 2>&1 || {{ echo '{NO_CURL}'; exit 127; }}; \
         d=$(mktemp -d) || exit 1; trap 'rm -rf \"$d\"' EXIT; \
         head -c {config_len} > \"$d/k\" && cat > \"$d/b\" && : > \"$d/h\" && : > \"$d/o\" || exit 1; \
         curl -K \"$d/k\"{data} -D \"$d/h\" -o \"$d/o\" \
         -w '%{{http_code}} %{{num_redirects}} %{{url_effective}}' > \"$d/w\" 2> \"$d/e\"; \
         echo $?; cat \"$d/w\"; echo; wc -c < \"$d/h\"; cat \"$d/h\" \"$d/o\"; cat \"$d/e\" >&2"
    )
}

/// Splits off the text up to the next newline.
fn line(data: &[u8]) -> Option<(String, &[u8])> {
    let i = data.iter().position(|b| *b == b'\n')?;
    Some((
        String::from_utf8_lossy(&data[..i]).trim().to_string(),
        &data[i + 1..],
    ))
}

/// Reads the script's output into a response.
pub fn parse(req: &Request, stdout: &[u8], stderr: &str) -> Result<Response, String> {
    let bad = || format!("unexpected output from curl on the host: {stderr}");
    let (rc, rest) = line(stdout).ok_or_else(bad)?;
    let (w, rest) = line(rest).ok_or_else(bad)?;
    let (hlen, rest) = line(rest).ok_or_else(bad)?;
    if rc != "0" {
        let why = stderr.trim();
        let why = why
            .strip_prefix("curl: ")
            .map(|w| w.split_once(") ").map(|(_, m)| m).unwrap_or(w))
            .unwrap_or(why);
        return Ok(Response::failed(
            &req.url,
            &format!("<urlopen error {why}>"),
        ));
    }
    let hlen: usize = hlen.parse().map_err(|_| bad())?;
    if hlen > rest.len() {
        return Err(bad());
    }
    let (head, body) = rest.split_at(hlen);
    let mut wf = w.splitn(3, ' ');
    let status: i64 = wf.next().and_then(|s| s.parse().ok()).ok_or_else(bad)?;
    let redirects: u64 = wf.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    let effective = wf.next().unwrap_or("").to_string();
    let mut resp = Response {
        status,
        redirected: redirects > 0,
        url: mask_url(if redirects > 0 { &effective } else { &req.url }),
        body: if req.method == "HEAD" {
            vec![]
        } else {
            body.to_vec()
        },
        ..Default::default()
    };
    // With redirects (and 100 Continue) curl writes one header block per response: the
    // last one is the final response's.
    let head = String::from_utf8_lossy(head).replace("\r\n", "\n");
    let block = head
        .rsplit("\n\n")
        .find(|b| !b.trim().is_empty())
        .unwrap_or("");
    let mut lines = block.lines();
    let reason = lines
        .next()
        .and_then(|l| l.splitn(3, ' ').nth(2))
        .map(|r| r.trim().to_string());
    for l in lines {
        if let Some((k, v)) = l.split_once(':') {
            resp.add_header(k.trim(), v.trim());
        }
    }
    resp.set_msg(reason.as_deref());
    Ok(resp)
}

/// Sends the request with curl on the host.
pub async fn send(host: &Host<'_>, req: &Request) -> ModResult<Response> {
    let cfg = config(req);
    let mut stdin = cfg.clone().into_bytes();
    if let Some(b) = &req.body {
        stdin.extend_from_slice(b);
    }
    let out = host
        .exec_with_stdin(&script(cfg.len(), req.body.is_some()), Some(stdin))
        .await?;
    if out.stdout.starts_with(NO_CURL.as_bytes()) {
        return Err(ModuleError::Failed(
            "uri sends the request from the host with curl, and the host has no curl: \
             install curl there (e.g. with apt: name=curl), or send the request from the \
             controller with delegate_to: localhost"
                .into(),
        ));
    }
    parse(req, &out.stdout, &out.stderr_str()).map_err(ModuleError::Failed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::http::Follow;

    fn req() -> Request {
        Request {
            url: "https://api.example/v1".into(),
            method: "POST".into(),
            headers: vec![("X-A".into(), "say \"hi\"".into())],
            body: None,
            timeout_secs: 30,
            validate_certs: true,
            auth: Some(("bob".into(), "p\\w".into())),
            force_basic: true,
            follow: Follow::Safe,
            use_proxy: true,
            ca_path: None,
        }
    }

    #[test]
    fn config_quotes_values_and_keeps_secrets_off_the_command_line() {
        let c = config(&req());
        assert!(c.contains("header = \"X-A: say \\\"hi\\\"\"\n"), "{c}");
        assert!(c.contains("user = \"bob:p\\\\w\"\nbasic\n"), "{c}");
        assert!(
            !c.contains("location"),
            "POST doesn't follow with safe: {c}"
        );
        assert!(!script(c.len(), false).contains("bob"));
    }

    #[test]
    fn the_last_header_block_is_the_response() {
        let head = "HTTP/1.1 302 Found\r\nLocation: /b\r\n\r\nHTTP/1.1 200 OK\r\nContent-Type: application/json\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n";
        let out = format!(
            "0\n200 1 https://api.example/b\n{}\n{head}{{\"x\": 1}}",
            head.len()
        );
        let r = parse(&req(), out.as_bytes(), "").unwrap();
        assert_eq!(r.status, 200);
        assert!(r.redirected);
        assert_eq!(r.url, "https://api.example/b");
        assert_eq!(r.header("set-cookie"), Some("a=1, b=2"));
        assert_eq!(r.body, b"{\"x\": 1}");
        assert_eq!(r.msg, "OK (unknown bytes)");
    }

    #[test]
    fn curl_errors_are_status_minus_one() {
        let r = parse(
            &req(),
            b"7\n000 0 https://api.example/v1\n0\n",
            "curl: (7) Failed to connect to api.example port 443: Connection refused\n",
        )
        .unwrap();
        assert_eq!(r.status, -1);
        assert!(r.msg.contains("Connection refused"), "{}", r.msg);
    }
}
