//! One HTTP request and its response, independent of who sends it (the controller or curl on
//! the host), and the pieces of Python's spelling Ansible's uri module puts on the wire.

use std::io::Write;

use serde_json::Value;

/// Which redirects are followed (Ansible's `follow_redirects`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Follow {
    /// none / no: a 3xx is the response.
    None,
    /// safe: only for GET and HEAD.
    Safe,
    /// all / yes / urllib2.
    All,
}

impl Follow {
    pub fn parse(s: &str) -> Follow {
        match s {
            "none" | "no" => Follow::None,
            "all" | "yes" | "urllib2" => Follow::All,
            _ => Follow::Safe,
        }
    }

    /// Whether a request with `method` follows redirects.
    pub fn follows(self, method: &str) -> bool {
        match self {
            Follow::None => false,
            Follow::All => true,
            Follow::Safe => matches!(method, "GET" | "HEAD"),
        }
    }
}

/// urllib's limit on redirects.
pub const MAX_REDIRECTS: usize = 10;

#[derive(Debug, Clone)]
pub struct Request {
    pub url: String,
    pub method: String,
    /// In order; names as given. Content-Type and User-Agent are already in here.
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    pub timeout_secs: u64,
    pub validate_certs: bool,
    /// (user, password): sent at once with `force_basic`, otherwise after a 401.
    pub auth: Option<(String, String)>,
    pub force_basic: bool,
    pub follow: Follow,
    pub use_proxy: bool,
    /// A CA bundle on the host that sends the request.
    pub ca_path: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Response {
    /// -1 when no response came (connection refused, timeout, TLS error).
    pub status: i64,
    /// Ansible's message: `OK (N bytes)`, `HTTP Error 404: Not Found`, `Request failed: ...`.
    pub msg: String,
    /// Lower-case names; a repeated header's values joined with ", " (as Ansible does).
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The URL of the final response (after redirects).
    pub url: String,
    pub redirected: bool,
}

impl Response {
    /// A request that got no response.
    pub fn failed(url: &str, why: &str) -> Response {
        Response {
            status: -1,
            msg: format!("Request failed: {why}"),
            url: mask_url(url),
            ..Default::default()
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Adds a header as urllib's result has it: lower-case, repeats joined with ", ".
    pub fn add_header(&mut self, name: &str, value: &str) {
        let name = name.to_ascii_lowercase();
        match self.headers.iter_mut().find(|(k, _)| *k == name) {
            Some((_, v)) => {
                v.push_str(", ");
                v.push_str(value);
            }
            None => self.headers.push((name, value.to_string())),
        }
    }

    /// Ansible's message for a response with this status (urllib raises HTTPError outside 2xx).
    pub fn set_msg(&mut self, reason: Option<&str>) {
        self.msg = if (200..300).contains(&self.status) {
            format!(
                "OK ({} bytes)",
                self.header("content-length").unwrap_or("unknown")
            )
        } else {
            let reason = reason
                .filter(|r| !r.is_empty())
                .map(str::to_string)
                .or_else(|| canonical_reason(self.status).map(str::to_string))
                .unwrap_or_default();
            format!("HTTP Error {}: {reason}", self.status)
        };
    }
}

/// The standard reason phrase of a status code.
pub fn canonical_reason(status: i64) -> Option<&'static str> {
    u16::try_from(status)
        .ok()
        .and_then(|s| reqwest::StatusCode::from_u16(s).ok())
        .and_then(|s| s.canonical_reason())
}

/// The URL with its user and password replaced by `****` (Ansible's mask_url), for results
/// and errors.
pub fn mask_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (netloc, path) = rest.split_at(end);
    let Some((userinfo, host)) = netloc.rsplit_once('@') else {
        return url.to_string();
    };
    let masked = if userinfo.contains(':') {
        "****:****"
    } else {
        "****"
    };
    format!("{scheme}://{masked}@{host}{path}")
}

/// Python's `urllib.parse.quote_plus` (safe characters: letters, digits, `_.-~`).
fn quote_plus(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Python's `str()` of a scalar, as `to_text` gives it.
fn py_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Null => "None".into(),
        other => json_dumps(other),
    }
}

/// Ansible's form_urlencoded: a mapping or a list of pairs; a list value repeats its key;
/// null values are left out.
pub fn form_urlencoded(body: &Value) -> Result<String, String> {
    let pairs: Vec<(String, Value)> = match body {
        Value::String(s) => return Ok(s.clone()),
        Value::Object(m) => m.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        Value::Array(items) => items
            .iter()
            .map(|p| match p {
                Value::Array(kv) if kv.len() == 2 => Ok((py_text(&kv[0]), kv[1].clone())),
                _ => Err("cannot form-urlencode body, expect list of pairs or dict".to_string()),
            })
            .collect::<Result<_, _>>()?,
        other => return Ok(py_text(other)),
    };
    let mut out = vec![];
    for (k, v) in pairs {
        let values = match v {
            Value::Array(a) => a,
            other => vec![other],
        };
        for v in values.iter().filter(|v| !v.is_null()) {
            out.push(format!("{}={}", quote_plus(&k), quote_plus(&py_text(v))));
        }
    }
    Ok(out.join("&"))
}

/// Python's `json.dumps(v)`: `", "` and `": "` separators, non-ASCII escaped.
pub fn json_dumps(v: &Value) -> String {
    struct Py;
    fn sep<W: ?Sized + Write>(w: &mut W, first: bool) -> std::io::Result<()> {
        if first {
            Ok(())
        } else {
            w.write_all(b", ")
        }
    }
    impl serde_json::ser::Formatter for Py {
        fn begin_array_value<W: ?Sized + Write>(
            &mut self,
            w: &mut W,
            first: bool,
        ) -> std::io::Result<()> {
            sep(w, first)
        }
        fn begin_object_key<W: ?Sized + Write>(
            &mut self,
            w: &mut W,
            first: bool,
        ) -> std::io::Result<()> {
            sep(w, first)
        }
        fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
            w.write_all(b": ")
        }
    }
    let mut buf = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, Py);
    let _ = serde::Serialize::serialize(v, &mut ser);
    let text = String::from_utf8_lossy(&buf);
    // ensure_ascii: every non-ASCII character as \uXXXX (surrogate pairs beyond the BMP).
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{u:04x}"));
            }
        }
    }
    out
}

/// An HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`) of a Unix time, for If-Modified-Since.
pub fn http_date(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let (year, month, day) = crate::calendar::civil_from_days(days);
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{}, {day:02} {} {year} {:02}:{:02}:{:02} GMT",
        WEEKDAYS[days.rem_euclid(7) as usize],
        MONTHS[(month - 1) as usize],
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// The file name a response suggests: Content-Disposition's `filename`, else the last path
/// segment of its URL (Ansible's get_response_filename).
pub fn response_filename(resp: &Response) -> Option<String> {
    if let Some(cd) = resp.header("content-disposition") {
        for part in cd.split(';') {
            if let Some(v) = part.trim().strip_prefix("filename=") {
                let v = v.trim().trim_matches('"');
                if !v.is_empty() {
                    return Some(v.rsplit('/').next().unwrap_or(v).to_string());
                }
            }
        }
    }
    let path = resp
        .url
        .split_once("://")
        .map(|(_, r)| r)
        .unwrap_or(&resp.url);
    let path = path.split(['?', '#']).next().unwrap_or("");
    let path = path.split_once('/').map(|(_, p)| p).unwrap_or("");
    path.rsplit('/')
        .next()
        .filter(|n| !n.is_empty())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn python_spellings() {
        assert_eq!(
            json_dumps(&json!({"a": [1, "é"]})),
            r#"{"a": [1, "\u00e9"]}"#
        );
        assert_eq!(
            form_urlencoded(&json!({"q": "a b&c", "n": [1, true], "x": null})).unwrap(),
            "q=a+b%26c&n=1&n=True"
        );
        assert_eq!(form_urlencoded(&json!([["k", "v~*"]])).unwrap(), "k=v~%2A");
    }

    #[test]
    fn dates_and_masks() {
        assert_eq!(http_date(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(
            mask_url("https://u:secret@h.example/p?q"),
            "https://****:****@h.example/p?q"
        );
        assert_eq!(mask_url("http://h/p@x"), "http://h/p@x");
    }

    #[test]
    fn redirects_followed_by_method() {
        assert!(Follow::Safe.follows("GET"));
        assert!(!Follow::Safe.follows("POST"));
        assert!(Follow::parse("yes").follows("POST"));
        assert!(!Follow::parse("none").follows("GET"));
    }
}
