//! The fake Kubernetes API server (fake_apiserver.py) from the tests' side: started per test
//! on a port of its own over TLS (a CA, a server certificate for 127.0.0.1 and a kubeadm-style
//! admin client certificate, made once with openssl), with kubeconfigs in both forms a user
//! meets (a bearer token, and kubeadm's admin.conf with embedded certificates), its request
//! log and test hooks; stopped when dropped.
//!
//! tests/engine/main.rs declares it once, as `crate::k8s_fake` (with `#[allow(dead_code)]`:
//! each test file uses part of it).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::Value;

use crate::support::Out;

pub fn k8s_script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/k8s")
        .join(name)
}

/// The bearer token the fake accepts.
pub const TOKEN: &str = "k8s-test-token-0123456789";

/// How long any one kubectl (or other client) run may take before the test gives up on it.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(60);

/// The test PKI: a cluster CA, the API server's certificate (127.0.0.1, localhost) and an
/// admin client certificate (CN=kubernetes-admin, O=kubeadm:cluster-admins), as kubeadm makes
/// them. Made once under the cargo target's tmp directory and reused.
pub struct Pki {
    pub dir: PathBuf,
}

impl Pki {
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    pub fn b64(&self, name: &str) -> String {
        let bytes = std::fs::read(self.path(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }
}

const PKI_FILES: [&str; 8] = [
    "ca.crt",
    "ca.key",
    "apiserver.crt",
    "apiserver.key",
    "admin.crt",
    "admin.key",
    "stranger.crt",
    "stranger.key",
];

pub fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("k8s-pki");
        if PKI_FILES.iter().all(|f| dir.join(f).is_file()) {
            return Pki { dir };
        }
        let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("k8s-pki.tmp-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(&tmp).expect("mkdir pki");
        make_pki(&tmp);
        // Another test process may have won the race; either copy is fine.
        if std::fs::rename(&tmp, &dir).is_err() {
            let _ = std::fs::remove_dir_all(&tmp);
        }
        assert!(
            PKI_FILES.iter().all(|f| dir.join(f).is_file()),
            "the test PKI in {} is incomplete",
            dir.display()
        );
        Pki { dir }
    })
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl runs (the tests make their certificates with it)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn make_pki(dir: &Path) {
    let ca = |key: &str, crt: &str, cn: &str| {
        openssl(
            dir,
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                key,
                "-out",
                crt,
                "-days",
                "3650",
                "-subj",
                cn,
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign",
            ],
        )
    };
    ca("ca.key", "ca.crt", "/CN=kubernetes");
    ca("other-ca.key", "other-ca.crt", "/CN=someone-else");
    let leaf = |name: &str, subj: &str, ext: &str, ca: &str| {
        std::fs::write(dir.join(format!("{name}.ext")), ext).unwrap();
        openssl(
            dir,
            &[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.csr"),
                "-subj",
                subj,
            ],
        );
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &format!("{name}.csr"),
                "-CA",
                &format!("{ca}.crt"),
                "-CAkey",
                &format!("{ca}.key"),
                "-CAcreateserial",
                "-out",
                &format!("{name}.crt"),
                "-days",
                "3650",
                "-extfile",
                &format!("{name}.ext"),
            ],
        );
    };
    leaf(
        "apiserver",
        "/CN=kube-apiserver",
        "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default.svc\n\
         extendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n",
        "ca",
    );
    leaf(
        "admin",
        "/O=kubeadm:cluster-admins/CN=kubernetes-admin",
        "extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n",
        "ca",
    );
    leaf(
        "stranger",
        "/O=system:masters/CN=stranger",
        "extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n",
        "other-ca",
    );
}

/// One request the fake answered.
#[derive(Debug, Clone)]
pub struct Request {
    pub at: f64,
    pub method: String,
    pub path: String,
    pub query: String,
    pub status: u16,
    pub dry_run: bool,
    pub content_type: String,
    pub user_agent: String,
    pub user: Option<String>,
}

impl Request {
    /// "METHOD path status"
    pub fn line(&self) -> String {
        format!("{} {} {}", self.method, self.path, self.status)
    }
}

/// A fake Kubernetes API server of its own, stopped when dropped. It serves HTTPS on
/// 127.0.0.1 with the test PKI, accepts TOKEN and client certificates signed by the test CA,
/// and answers the plain-HTTP test hooks on the same port.
pub struct ApiServer {
    child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
}

impl ApiServer {
    pub fn start() -> ApiServer {
        ApiServer::start_with(&[])
    }

    /// Extra flags: --kube-version, --rollout-seconds, --job-seconds, --namespace-seconds,
    /// --legacy-discovery (see fake_apiserver.py).
    pub fn start_with(flags: &[&str]) -> ApiServer {
        let pki = pki();
        let mut child = Command::new("python3")
            .arg(k8s_script("fake_apiserver.py"))
            .args(["--token", TOKEN])
            .arg("--tls-cert")
            .arg(pki.path("apiserver.crt"))
            .arg("--tls-key")
            .arg(pki.path("apiserver.key"))
            .arg("--client-ca")
            .arg(pki.path("ca.crt"))
            .args(flags)
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs the fake Kubernetes API server");
        let port = crate::support::listening_port(&mut child, "the fake Kubernetes API server");
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join("home")).unwrap();
        let s = ApiServer { child, port, dir };
        s.write_kubeconfig("kubeconfig", TOKEN);
        s.write_admin_conf("admin.conf");
        s
    }

    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Writes a file in this server's scratch directory (manifests for kubectl).
    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.path(rel);
        std::fs::write(&p, text).unwrap_or_else(|e| panic!("writing {rel}: {e}"));
        p
    }

    /// The kubeconfig with a bearer token (written at start as "kubeconfig").
    pub fn kubeconfig(&self) -> PathBuf {
        self.path("kubeconfig")
    }

    /// kubeadm's /etc/kubernetes/admin.conf shape: embedded CA, client certificate and key
    /// (written at start as "admin.conf").
    pub fn admin_conf(&self) -> PathBuf {
        self.path("admin.conf")
    }

    pub fn kubeconfig_text(&self, token: &str) -> String {
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    certificate-authority-data: {ca}\n    \
             server: {url}\n  name: fake\ncontexts:\n- context:\n    cluster: fake\n    user: tester\n  \
             name: fake\ncurrent-context: fake\npreferences: {{}}\nusers:\n- name: tester\n  user:\n    \
             token: {token}\n",
            ca = pki().b64("ca.crt"),
            url = self.url()
        )
    }

    pub fn write_kubeconfig(&self, rel: &str, token: &str) -> PathBuf {
        self.write(rel, &self.kubeconfig_text(token))
    }

    /// admin.conf as kubeadm writes it, for the client certificate `cert` (admin or stranger).
    pub fn admin_conf_text_for(&self, cert: &str) -> String {
        let p = pki();
        format!(
            "apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: {ca}\n    server: {url}\n  \
             name: kubernetes\ncontexts:\n- context:\n    cluster: kubernetes\n    user: kubernetes-admin\n  \
             name: kubernetes-admin@kubernetes\ncurrent-context: kubernetes-admin@kubernetes\nkind: Config\n\
             preferences: {{}}\nusers:\n- name: kubernetes-admin\n  user:\n    client-certificate-data: {crt}\n    \
             client-key-data: {key}\n",
            ca = p.b64("ca.crt"),
            url = self.url(),
            crt = p.b64(&format!("{cert}.crt")),
            key = p.b64(&format!("{cert}.key")),
        )
    }

    pub fn write_admin_conf(&self, rel: &str) -> PathBuf {
        self.write(rel, &self.admin_conf_text_for("admin"))
    }

    /// A plain-HTTP request to the fake's hooks; (status, body).
    pub fn hook(&self, method: &str, path: &str, body: &str) -> (u16, String) {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to the fake");
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: fake\r\nConnection: close\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        let status = out
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let body = out
            .split_once("\r\n\r\n")
            .map(|x| x.1.to_string())
            .unwrap_or_default();
        (status, body)
    }

    /// Every API request so far (discovery included).
    pub fn log(&self) -> Vec<Request> {
        let (_, body) = self.hook("GET", "/__fake/log", "");
        let v: Value = serde_json::from_str(&body).expect("the log is JSON");
        v.as_array()
            .expect("the log is a list")
            .iter()
            .map(|r| Request {
                at: r["at"].as_f64().unwrap_or(0.0),
                method: r["method"].as_str().unwrap_or("").into(),
                path: r["path"].as_str().unwrap_or("").into(),
                query: r["query"].as_str().unwrap_or("").into(),
                status: r["status"].as_u64().unwrap_or(0) as u16,
                dry_run: r["dry_run"].as_bool().unwrap_or(false),
                content_type: r["content_type"].as_str().unwrap_or("").into(),
                user_agent: r["user_agent"].as_str().unwrap_or("").into(),
                user: r["user"].as_str().map(String::from),
            })
            .collect()
    }

    /// "METHOD path status" for every request that was not a GET.
    pub fn writes(&self) -> Vec<String> {
        self.log()
            .into_iter()
            .filter(|r| r.method != "GET")
            .map(|r| r.line())
            .collect()
    }

    /// An object (or list) straight from the fake, without credentials and without a log
    /// entry: `get("/apis/apps/v1/namespaces/shop/deployments/web")`. None when absent.
    pub fn get(&self, api_path: &str) -> Option<Value> {
        let (status, body) = self.hook("GET", &format!("/__fake{api_path}"), "");
        match status {
            200 => Some(serde_json::from_str(&body).expect("the fake answers JSON")),
            404 => None,
            _ => panic!("GET {api_path}: {status} {body}"),
        }
    }

    /// Makes a Job (or Deployment) fail with `reason`, now or once it exists.
    pub fn fail(&self, kind: &str, namespace: &str, name: &str, reason: &str) {
        let body = serde_json::json!({"kind": kind, "namespace": namespace, "name": name,
                                      "reason": reason})
        .to_string();
        let (status, out) = self.hook("POST", "/__fake/fail", &body);
        assert_eq!(status, 200, "{out}");
    }

    /// Registers a Node as its kubelet would (Ready unless `ready` is false).
    pub fn add_node(&self, name: &str, roles: &[&str], ready: bool) -> Value {
        let body = serde_json::json!({"name": name, "roles": roles, "ready": ready}).to_string();
        let (status, out) = self.hook("POST", "/__fake/nodes", &body);
        assert_eq!(status, 200, "{out}");
        serde_json::from_str(&out).unwrap()
    }

    /// Polls `get(api_path)` until `cond` holds; panics after `timeout`.
    pub fn wait_for(
        &self,
        api_path: &str,
        timeout: Duration,
        cond: impl Fn(&Value) -> bool,
    ) -> Value {
        let start = Instant::now();
        loop {
            if let Some(v) = self.get(api_path) {
                if cond(&v) {
                    return v;
                }
            }
            assert!(
                start.elapsed() < timeout,
                "{api_path} did not reach the expected state in {timeout:?}: {:?}",
                self.get(api_path)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The default kubectl (from PATH) with the token kubeconfig.
    pub fn kubectl(&self, args: &[&str]) -> Out {
        self.kubectl_with("kubectl", &self.kubeconfig(), args, None)
    }

    /// `kubectl` with manifest text on stdin (`-f -`).
    pub fn kubectl_stdin(&self, args: &[&str], stdin: &str) -> Out {
        self.kubectl_with("kubectl", &self.kubeconfig(), args, Some(stdin))
    }

    /// A given kubectl binary and kubeconfig; HOME (kubectl's discovery cache) is private to
    /// this server, the working directory is its scratch directory.
    pub fn kubectl_with(
        &self,
        bin: &str,
        kubeconfig: &Path,
        args: &[&str],
        stdin: Option<&str>,
    ) -> Out {
        let mut cmd = Command::new(bin);
        cmd.args(args)
            .current_dir(self.dir.path())
            .env("KUBECONFIG", kubeconfig)
            .env("HOME", self.path("home"))
            .env_remove("KUBECTL_EXTERNAL_DIFF")
            .env("NO_COLOR", "1");
        run_bounded(cmd, stdin, CLIENT_TIMEOUT)
    }
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a command with optional stdin, killing it after `timeout`.
pub fn run_bounded(mut cmd: Command, stdin: Option<&str>, timeout: Duration) -> Out {
    let shown = format!("{cmd:?}");
    let mut child = cmd
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{shown}: {e}"));
    if let Some(text) = stdin {
        let mut input = child.stdin.take().unwrap();
        let text = text.to_string();
        std::thread::spawn(move || {
            let _ = input.write_all(text.as_bytes());
        });
    }
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out_t = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err_t = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{shown} ran for more than {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Out {
        code: status.code().unwrap_or(-1),
        stdout: out_t.join().unwrap(),
        stderr: err_t.join().unwrap(),
    }
}

/// The versioned kubectl binaries next to the one in PATH (google-cloud-sdk ships
/// kubectl.1.27 … kubectl.1.33 beside its dispatcher), oldest first.
pub fn kubectl_versions() -> Vec<(String, PathBuf)> {
    let Some(found) = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("kubectl"))
            .find(|p| p.is_file())
    }) else {
        return Vec::new();
    };
    let Ok(real) = std::fs::canonicalize(found) else {
        return Vec::new();
    };
    let mut out: Vec<(String, PathBuf)> = std::fs::read_dir(real.parent().unwrap())
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter_map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    name.strip_prefix("kubectl.")
                        .filter(|v| v.split('.').all(|p| p.parse::<u32>().is_ok()))
                        .map(|v| (v.to_string(), e.path()))
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort_by_key(|(v, _)| {
        v.split('.')
            .map(|p| p.parse::<u32>().unwrap_or(0))
            .collect::<Vec<_>>()
    });
    out
}
