//! The Django example (examples/django-app) is a real application: its image is built from its
//! own Dockerfile on the lab's Debian base with no registry (tests/lab/django), and runs
//! against Debian's PostgreSQL in a lab container. Its migrations apply (the role's Job runs
//! the same command), its front page writes to the database, and its health endpoint answers
//! 503 while migrations are pending or the database is away, 200 otherwise. The HTTP check
//! site.yml runs through the ingress (playbooks/tasks/http_check.yml) runs here with timonel
//! against the application's port: ok while it serves, a failure saying why once the database
//! is stopped.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

const WEB_PORT: u16 = 22701;
const APP_IMAGE: &str = "timonel-django:lab";
const PG_IMAGE: &str = "timonel-lab-postgres:bookworm";
const DB_PASSWORD: &str = "lab-Db-pass-7Qx";
/// The application's public host name (django_host), as the ingress would pass it on.
const APP_HOST: &str = "shop.example.com";

/// Container and network names; TIMONEL_DJANGO_LAB renames them (sessions sharing a Docker).
fn prefix() -> String {
    std::env::var("TIMONEL_DJANGO_LAB").unwrap_or_else(|_| "t-django".into())
}

fn docker(args: &[&str]) -> (bool, String) {
    let out = Command::new("docker")
        .args(args)
        .output()
        .expect("run docker");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn docker_ok(args: &[&str]) -> String {
    let (ok, text) = docker(args);
    assert!(ok, "docker {args:?} failed:\n{text}");
    text
}

/// Removes the test's containers and network, also when it fails.
struct Cleanup(String);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let p = &self.0;
        let _ = docker(&["rm", "-f", &format!("{p}-web"), &format!("{p}-db")]);
        let _ = docker(&["network", "rm", p]);
    }
}

/// (status, body) of a GET over plain HTTP/1.0 with the given Host header.
fn get(path: &str, host: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", WEB_PORT)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(20))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").ok()?;
    let mut raw = String::new();
    s.read_to_string(&mut raw).ok()?;
    let status = raw.split_whitespace().nth(1)?.parse().ok()?;
    let body = raw.split_once("\r\n\r\n").map(|(_, b)| b.to_string())?;
    Some((status, body))
}

fn get_ok(path: &str) -> (u16, String) {
    get(path, "localhost").unwrap_or_else(|| panic!("no HTTP answer for {path}"))
}

/// timonel runs playbooks/tasks/http_check.yml against the application's port, as
/// site.yml's verification runs it against the ingress's address.
fn http_check(t: &crate::support::Lab) -> crate::support::Out {
    let tasks = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../playbooks/tasks/http_check.yml");
    t.write(
        "check.yml",
        &format!(
            r#"
- hosts: localhost
  gather_facts: false
  tasks:
    - ansible.builtin.include_tasks: {}
      vars:
        http_check_url: http://127.0.0.1:{WEB_PORT}
        http_check_host: {APP_HOST}
        http_check_retries: 2
        http_check_delay: 1
"#,
            tasks.display()
        ),
    );
    crate::run(t, &["run", "check.yml"])
}

/// Polls until `f` is true or `limit` passes; the last value for the failure message.
fn wait_for(what: &str, limit: Duration, mut f: impl FnMut() -> (bool, String)) {
    let start = Instant::now();
    loop {
        let (done, last) = f();
        if done {
            return;
        }
        assert!(
            start.elapsed() < limit,
            "{what}: not after {limit:?}; last: {last}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn app_env(p: &str) -> Vec<String> {
    [
        "SECRET_KEY=lab-secret-key-not-for-production".to_string(),
        // The host name the check sends, not the address it connects to: a check without
        // its Host header gets 400 from the front page.
        format!("ALLOWED_HOSTS=localhost,{APP_HOST}"),
        format!("POSTGRES_HOST={p}-db"),
        "POSTGRES_DB=shop".into(),
        "POSTGRES_USER=shop".into(),
        format!("POSTGRES_PASSWORD={DB_PASSWORD}"),
    ]
    .into_iter()
    .flat_map(|e| ["-e".to_string(), e])
    .collect()
}

/// `python manage.py ARGS` in a one-off container of the image (as the migrations Job runs).
fn manage(p: &str, env: &[String], args: &[&str]) -> String {
    let mut all: Vec<String> = ["run", "--rm", "--network", p]
        .iter()
        .map(|s| s.to_string())
        .collect();
    all.extend(env.iter().cloned());
    all.extend([APP_IMAGE, "python", "manage.py"].map(String::from));
    all.extend(args.iter().map(|s| s.to_string()));
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    docker_ok(&all)
}

#[test]
fn the_django_image_migrates_serves_and_reports_its_database() {
    let started = Instant::now();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/lab/django");
    let built = Command::new("bash")
        .arg(&script)
        .arg("image")
        .output()
        .expect("run tests/lab/django");
    assert!(
        built.status.success(),
        "tests/lab/django image failed (needs Docker, debootstrap and PyPI: see tests/run)\n{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let build_time = started.elapsed();

    let p = prefix();
    let _cleanup = Cleanup(p.clone());
    let _ = docker(&["rm", "-f", &format!("{p}-web"), &format!("{p}-db")]);
    let _ = docker(&["network", "rm", &p]);
    docker_ok(&["network", "create", "--label", "timonel-lab=1", &p]);
    docker_ok(&[
        "run",
        "-d",
        "--name",
        &format!("{p}-db"),
        "--label",
        "timonel-lab=1",
        "--network",
        &p,
        "-e",
        "POSTGRES_USER=shop",
        "-e",
        &format!("POSTGRES_PASSWORD={DB_PASSWORD}"),
        "-e",
        "POSTGRES_DB=shop",
        PG_IMAGE,
    ]);
    let db = format!("{p}-db");
    wait_for(
        "PostgreSQL accepts connections",
        Duration::from_secs(60),
        || {
            let (ok, text) = docker(&["exec", &db, "pg_isready", "-h", "127.0.0.1", "-U", "shop"]);
            (ok, text)
        },
    );

    let env = app_env(&p);
    let mut args: Vec<String> = [
        "run",
        "-d",
        "--name",
        &format!("{p}-web"),
        "--label",
        "timonel-lab=1",
        "--network",
        &p,
        "-p",
        &format!("127.0.0.1:{WEB_PORT}:8000"),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(env.iter().cloned());
    args.push(APP_IMAGE.into());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    docker_ok(&args);
    wait_for(
        "gunicorn answers /livez",
        Duration::from_secs(30),
        || match get("/livez", "localhost") {
            Some((200, b)) => (true, b),
            other => (false, format!("{other:?}")),
        },
    );

    // Before the migrations: the database answers, but the pod is not ready.
    let (code, body) = get_ok("/healthz");
    assert_eq!(code, 503, "{body}");
    assert!(
        body.contains("migrations pending") && body.contains("visits.0001_initial"),
        "{body}"
    );

    // The migrations apply once; a second run (with DATABASE_URL, the other way to name the
    // database) finds nothing to do.
    let out = manage(&p, &env, &["migrate"]);
    assert!(out.contains("Applying visits.0001_initial... OK"), "{out}");
    let url_env: Vec<String> = [
        "SECRET_KEY=x".to_string(),
        format!("DATABASE_URL=postgres://shop:{DB_PASSWORD}@{p}-db:5432/shop"),
    ]
    .into_iter()
    .flat_map(|e| ["-e".to_string(), e])
    .collect();
    let out = manage(&p, &url_env, &["migrate"]);
    assert!(out.contains("No migrations to apply."), "{out}");

    let (code, body) = get_ok("/healthz");
    assert_eq!(
        (code, body.as_str()),
        (200, r#"{"status": "ok", "database": "ok"}"#)
    );
    // The models and their migrations agree (a model changed without its migration fails).
    let out = manage(&p, &env, &["makemigrations", "--check", "--dry-run"]);
    assert!(out.contains("No changes detected"), "{out}");
    // The application's own tests (visits/tests.py), on a test database of this PostgreSQL.
    let out = manage(&p, &env, &["test", "visits"]);
    assert!(out.contains("Ran 6 tests") && out.contains("\nOK"), "{out}");
    // The front page records each visit in the database.
    let (code, body) = get_ok("/");
    assert_eq!(code, 200, "{body}");
    assert!(
        body.contains("Hello from Django") && body.contains("visit 1,"),
        "{body}"
    );
    let (_, body) = get_ok("/");
    assert!(body.contains("visit 2,"), "{body}");
    // site.yml's HTTP check: ready, and the front page served for the host name.
    let t = crate::support::Lab::new();
    let out = http_check(&t);
    out.assert_ok();
    assert_eq!(out.recap("localhost").ok, 4, "{}", out.stdout);
    assert!(!out.stdout.contains("RETRYING"), "{}", out.stdout);
    // ALLOWED_HOSTS comes from the environment; the probes answer whatever the Host.
    let (code, _) = get("/", "evil.example").expect("an answer");
    assert_eq!(code, 400);
    let (code, _) = get("/healthz", "10.244.1.7:8000").expect("an answer");
    assert_eq!(code, 200);

    // The database goes away: not ready (fast, not after a long timeout), but alive.
    docker_ok(&["stop", "-t", "5", &db]);
    let asked = Instant::now();
    let (code, body) = get_ok("/healthz");
    assert_eq!(code, 503, "{body}");
    assert!(body.contains(r#""status": "unavailable""#), "{body}");
    assert!(
        asked.elapsed() < Duration::from_secs(10),
        "{:?}",
        asked.elapsed()
    );
    assert_eq!(get_ok("/livez").0, 200);
    // The check retries, then fails saying what the application answered, and why.
    let out = http_check(&t);
    out.assert_code(2);
    for want in [
        "TASK [The application is ready (/healthz answers 200)]",
        "FAILED - RETRYING: [localhost]: The application is ready (/healthz answers 200) (1 retries left).",
        "\"msg\": \"Status code was 503 and not [200]: HTTP Error 503: Service Unavailable\"",
        "\"status\": \"unavailable\"",
        &format!("\"url\": \"http://127.0.0.1:{WEB_PORT}/healthz\""),
    ] {
        assert!(out.stdout.contains(want), "{want}\n{}", out.stdout);
    }
    assert_eq!(out.recap("localhost").failed, 1, "{}", out.stdout);
    // And back: ready again, with its data.
    docker_ok(&["start", &db]);
    wait_for("ready again", Duration::from_secs(60), || {
        let (code, body) = get_ok("/healthz");
        (code == 200, body)
    });
    let (_, body) = get_ok("/");
    // The check's front page was visit 3.
    assert!(body.contains("visit 4,"), "{body}");
    eprintln!(
        "django: images ready in {build_time:?}, whole test {:?}",
        started.elapsed()
    );
}
