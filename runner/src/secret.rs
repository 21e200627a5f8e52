//! Reading a secret (password, passphrase) from the terminal without echoing it.

/// Asks on the controlling terminal; `None` when there is none (CI, pipes).
pub fn prompt(label: &str) -> Option<String> {
    let tty = std::fs::File::open("/dev/tty").ok()?;
    eprint!("{label}");
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg("stty -echo 2>/dev/null; IFS= read -r p; stty echo 2>/dev/null; printf %s \"$p\"")
        .stdin(tty)
        .output()
        .ok()?;
    eprintln!();
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}
