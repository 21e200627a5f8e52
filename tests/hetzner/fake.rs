//! The fake Hetzner API (fake_hcloud.py) from the tests' side: started per test on a port
//! of its own, with its request log and fault queue; stopped when dropped.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::support::{Lab, Out};

pub fn fake_script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/hetzner")
        .join(name)
}

pub const TOKEN: &str = "test-token-123";

/// A fake Hetzner API of its own, stopped when dropped.
pub struct Fake {
    child: Child,
    pub port: u16,
}

impl Fake {
    pub fn start() -> Fake {
        Fake::start_with(&[])
    }

    /// A fake whose project bucket holds `n` requests (one more each second).
    pub fn start_limited(n: u32) -> Fake {
        Fake::start_with(&["--rate-limit", &n.to_string()])
    }

    /// With `--lab`, every server is a lab container (tests/lab/lab) at its public IPv4.
    pub fn start_with(flags: &[&str]) -> Fake {
        let mut child = Command::new("python3")
            .arg(fake_script("fake_hcloud.py"))
            .args(["--token", TOKEN])
            .args(flags)
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs the fake Hetzner API");
        let port = crate::support::listening_port(&mut child, "the fake Hetzner API");
        Fake { child, port }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}/v1", self.port)
    }

    fn http(&self, method: &str, path: &str, body: &str) -> String {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to the fake");
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: fake\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out.split_once("\r\n\r\n")
            .map(|x| x.1.to_string())
            .unwrap_or_default()
    }

    /// "METHOD path status" for every API request so far.
    pub fn log(&self) -> Vec<String> {
        let v: Value = serde_json::from_str(&self.http("GET", "/__fake/log", "")).unwrap();
        v.as_array()
            .unwrap()
            .iter()
            .map(|r| {
                format!(
                    "{} {} {}",
                    r["method"].as_str().unwrap(),
                    r["path"].as_str().unwrap(),
                    r["status"]
                )
            })
            .collect()
    }

    pub fn writes(&self) -> Vec<String> {
        self.log()
            .into_iter()
            .filter(|l| !l.starts_with("GET "))
            .collect()
    }

    pub fn fault(&self, json: &str) {
        self.http("POST", "/__fake/faults", json);
    }

    /// Leaves these keys out of every object the fake answers from now on.
    pub fn omit(&self, keys: &[&str]) {
        self.http("POST", "/__fake/omit", &serde_json::json!(keys).to_string());
    }

    pub fn run(&self, t: &Lab, args: &[&str]) -> Out {
        self.run_with(t, args, TOKEN, &[])
    }

    pub fn run_token(&self, t: &Lab, args: &[&str], token: &str) -> Out {
        self.run_with(t, args, token, &[])
    }

    /// timonel pointed at this fake with `token`, plus `env`.
    pub fn run_with(&self, t: &Lab, args: &[&str], token: &str, env: &[(&str, &str)]) -> Out {
        let ep = self.endpoint();
        let mut all = vec![("HCLOUD_TOKEN", token), ("HCLOUD_ENDPOINT", ep.as_str())];
        all.extend_from_slice(env);
        t.run_env(args, &all)
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
