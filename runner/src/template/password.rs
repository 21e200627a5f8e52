//! `lookup('password', 'PATH [length=N] [chars=SETS] [seed=S]')`, as Ansible's: a random
//! password generated once and kept in PATH on the controller (mode 0600, its new directories
//! 0700), the same password read back on every later run; `/dev/null` gives a new one each
//! time; `seed` makes it reproducible (Python's `random.Random(seed)`, so the same password
//! Ansible makes). `encrypt`/`ident` (a crypt hash of the password) are not supported and
//! say so rather than return the plain text.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rand::seq::IndexedRandom;

use super::py_random::PyRandom;

const DEFAULT_LENGTH: usize = 20;
const DEFAULT_CHARS: &[&str] = &["ascii_letters", "digits", ".,:-_"];
const PARAMS: &[&str] = &["length", "chars", "seed", "encrypt", "ident"];

/// One generator at a time in this process: hosts templating the same lookup at once must
/// all get the password the first one stored.
static FILES: Mutex<()> = Mutex::new(());

/// What a term (and the lookup's keyword arguments) ask for.
#[derive(Debug, PartialEq)]
pub struct Request {
    pub path: String,
    pub length: usize,
    pub chars: Vec<String>,
    /// Ansible's option is a string: `seed=42` and `seed=42` as a keyword are both "42".
    pub seed: Option<String>,
}

/// Keyword arguments given to the lookup itself (`lookup('password', p, length=8)`); the
/// term's own `key=value` parameters win over them, as in Ansible.
#[derive(Default)]
pub struct Options {
    pub length: Option<String>,
    pub chars: Option<Vec<String>>,
    pub seed: Option<String>,
    pub encrypt: bool,
}

/// `chars=ascii_letters,digits` → the list of sets; `,,` stands for a literal comma.
fn split_chars(s: &str) -> Vec<String> {
    let mut out = vec![];
    if s.contains(",,") {
        out.push(",".to_string());
    }
    out.extend(
        s.replace(",,", ",")
            .split(',')
            .filter(|c| !c.is_empty())
            .map(str::to_string),
    );
    out
}

/// Splits `PATH key=value ...` as Ansible's `_parse_parameters` does: words without `=`
/// before the first parameter belong to the path (it may contain spaces).
pub fn parse(term: &str, opts: &Options) -> Result<Request, String> {
    let (mut path, rest) = match term.split_once(' ') {
        Some((p, r)) => (p.to_string(), r),
        None => (term.to_string(), ""),
    };
    let words = shlex::split(rest)
        .ok_or_else(|| format!("lookup('password'): unbalanced quotes in '{term}'"))?;
    let mut params: Vec<(String, String)> = vec![];
    for w in words {
        match w.split_once('=') {
            Some((k, v)) => params.push((k.to_string(), v.to_string())),
            None if params.is_empty() => {
                path.push(' ');
                path.push_str(&w);
            }
            None => {
                return Err(format!(
                    "lookup('password'): unrecognized value '{w}' after key=value parameters in '{term}'"
                ))
            }
        }
    }
    let unknown: Vec<&str> = params
        .iter()
        .map(|(k, _)| k.as_str())
        .filter(|k| !PARAMS.contains(k))
        .collect();
    if !unknown.is_empty() {
        return Err(format!(
            "lookup('password'): unrecognized parameter(s) {} (known: {})",
            unknown.join(", "),
            PARAMS.join(", ")
        ));
    }
    let get = |k: &str| {
        params
            .iter()
            .rev()
            .find(|(p, _)| p == k)
            .map(|(_, v)| v.clone())
    };
    if get("encrypt").is_some() || get("ident").is_some() || opts.encrypt {
        return Err("lookup('password'): encrypt/ident (a crypt hash of the password) is not supported by timonel; store the plain password and hash it where it is used".into());
    }
    let length_text = get("length").or_else(|| opts.length.clone());
    let length = match length_text {
        None => DEFAULT_LENGTH,
        Some(l) => l
            .trim()
            .parse::<usize>()
            .map_err(|_| format!("lookup('password'): length must be a whole number, not '{l}'"))?,
    };
    let chars = match get("chars") {
        Some(c) => split_chars(&c),
        None => opts
            .chars
            .clone()
            .unwrap_or_else(|| DEFAULT_CHARS.iter().map(|s| s.to_string()).collect()),
    };
    let seed = get("seed").or_else(|| opts.seed.clone());
    Ok(Request {
        path,
        length,
        chars,
        seed,
    })
}

/// Python's `string` constants by name; anything else stands for its own characters.
/// Quotes are dropped, as Ansible drops them.
pub fn candidates(sets: &[String]) -> Vec<char> {
    const LOWER: &str = "abcdefghijklmnopqrstuvwxyz";
    const UPPER: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    const DIGITS: &str = "0123456789";
    const PUNCT: &str = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
    let mut s = String::new();
    for set in sets {
        match set.as_str() {
            "ascii_letters" => s.extend([LOWER, UPPER]),
            "ascii_lowercase" => s.push_str(LOWER),
            "ascii_uppercase" => s.push_str(UPPER),
            "digits" => s.push_str(DIGITS),
            "hexdigits" => s.push_str("0123456789abcdefABCDEF"),
            "octdigits" => s.push_str("01234567"),
            "punctuation" => s.push_str(PUNCT),
            "whitespace" => s.push_str(" \t\n\r\x0b\x0c"),
            "printable" => s.extend([DIGITS, LOWER, UPPER, PUNCT, " \t\n\r\x0b\x0c"]),
            other => s.push_str(other),
        }
    }
    s.chars().filter(|c| *c != '"' && *c != '\'').collect()
}

/// A new password: Python's `random.Random(seed).choice` with a seed, the OS's generator
/// without.
pub fn generate(length: usize, chars: &[char], seed: Option<&str>) -> Result<String, String> {
    if chars.is_empty() {
        return Err("lookup('password'): chars leaves no character to choose from".into());
    }
    Ok(match seed {
        Some(s) => {
            let mut r = PyRandom::from_text(s);
            (0..length).map(|_| r.choice(chars)).collect()
        }
        None => {
            let mut rng = rand::rng();
            (0..length)
                .map(|_| *chars.choose(&mut rng).unwrap_or(&'x'))
                .collect()
        }
    })
}

/// The password part of a stored file (`PASSWORD[ salt=SALT[ ident=IDENT]]`).
fn stored_password(content: &str) -> &str {
    match content.rfind(" salt=") {
        Some(i) => &content[..i],
        None => content,
    }
}

/// Writes `content` to `path` through a temporary file in the same directory, so a reader
/// never sees half a password.
fn write_new(path: &Path, content: &str) -> Result<(), String> {
    timonel_modules::private_file::write(path, format!("{content}\n").as_bytes())
        .map_err(|e| format!("lookup('password'): cannot write {}: {e}", path.display()))
}

/// The password at `path` (resolved by the caller), made and stored if the file is missing.
pub fn lookup(path: &Path, req: &Request) -> Result<String, String> {
    let chars = candidates(&req.chars);
    let _one_at_a_time = FILES.lock().unwrap_or_else(|e| e.into_inner());
    if path == Path::new("/dev/null") {
        return generate(req.length, &chars, req.seed.as_deref());
    }
    match std::fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8(bytes).map_err(|_| {
                format!(
                    "lookup('password'): {} is not UTF-8 text; delete it to make a new password",
                    path.display()
                )
            })?;
            Ok(stored_password(text.trim_end()).to_string())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let pw = generate(req.length, &chars, req.seed.as_deref())?;
            write_new(path, &pw)?;
            Ok(pw)
        }
        Err(e) => Err(format!(
            "lookup('password'): cannot read {}: {e}",
            path.display()
        )),
    }
}

/// A relative path is relative to the playbook's directory (Ansible's `path_dwim`).
pub fn resolve(path: &str, playbook_dir: Option<&str>) -> PathBuf {
    let p = Path::new(path);
    match playbook_dir {
        Some(d) if p.is_relative() => Path::new(d).join(p),
        _ => p.to_path_buf(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(term: &str) -> Request {
        parse(term, &Options::default()).unwrap()
    }

    #[test]
    fn terms_parse_as_ansible_reads_them() {
        let r = req("creds/db length=12 chars=ascii_letters,digits");
        assert_eq!(r.path, "creds/db");
        assert_eq!(r.length, 12);
        assert_eq!(r.chars, vec!["ascii_letters", "digits"]);
        assert_eq!(r.seed, None);
        let r = req("/tmp/a b/pw seed=x");
        assert_eq!(r.path, "/tmp/a b/pw");
        assert_eq!(r.seed.as_deref(), Some("x"));
        let d = req("pw");
        assert_eq!((d.length, d.chars.len()), (20, 3));
        assert_eq!(req("pw chars=digits,,").chars, vec![",", "digits"]);
        let e = parse("pw lenght=3", &Options::default()).unwrap_err();
        assert!(e.contains("unrecognized parameter(s) lenght"), "{e}");
        let e = parse("pw length=3 oops", &Options::default()).unwrap_err();
        assert!(e.contains("unrecognized value 'oops'"), "{e}");
        let e = parse("pw length=many", &Options::default()).unwrap_err();
        assert!(e.contains("length must be a whole number"), "{e}");
        let e = parse("pw encrypt=sha512_crypt", &Options::default()).unwrap_err();
        assert!(e.contains("not supported"), "{e}");
        // The term's parameters win over the lookup's keyword arguments.
        let opts = Options {
            length: Some("9".into()),
            ..Default::default()
        };
        assert_eq!(parse("pw", &opts).unwrap().length, 9);
        assert_eq!(parse("pw length=4", &opts).unwrap().length, 4);
    }

    #[test]
    fn character_sets_expand_like_pythons_string_module() {
        let c: String = candidates(&["digits".into(), "xy'\"".into()])
            .into_iter()
            .collect();
        assert_eq!(c, "0123456789xy");
        assert_eq!(candidates(&["ascii_letters".into()]).len(), 52);
        assert_eq!(candidates(&["punctuation".into()]).len(), 30);
        let e = generate(3, &[], None).unwrap_err();
        assert!(e.contains("no character"), "{e}");
    }

    #[test]
    fn a_seed_gives_ansibles_password() {
        // ansible-core 2.19: lookup('password', '/dev/null seed=timonel length=16
        // chars=ascii_letters,digits')
        let chars = candidates(&["ascii_letters".into(), "digits".into()]);
        let pw = generate(16, &chars, Some("timonel")).unwrap();
        assert_eq!(pw, "eStK2qIS5908rooO");
        // lookup('password', '/dev/null', seed=42, length=8): the keyword seed is the text "42"
        let all = candidates(
            &DEFAULT_CHARS
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>(),
        );
        assert_eq!(generate(8, &all, Some("42")).unwrap(), "86Kmhn6r");
    }

    #[test]
    fn the_file_is_made_once_with_mode_0600_and_read_back_after() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("creds/sub/db");
        let first = lookup(&path, &req("x length=12 chars=digits")).unwrap();
        assert_eq!(first.len(), 12);
        assert!(first.chars().all(|c| c.is_ascii_digit()), "{first}");
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&dir.path().join("creds/sub")), 0o700);
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            format!("{first}\n")
        );
        // Later lookups read it back, whatever they ask for.
        assert_eq!(lookup(&path, &req("x length=30")).unwrap(), first);
        // An Ansible file with a salt: the password is what precedes it.
        std::fs::write(&path, "hunter2 salt=abcdefgh\n").unwrap();
        assert_eq!(lookup(&path, &req("x")).unwrap(), "hunter2");
        // /dev/null: a new one every time.
        let a = lookup(Path::new("/dev/null"), &req("x")).unwrap();
        let b = lookup(Path::new("/dev/null"), &req("x")).unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 20);
        // No temporary file is left beside it.
        let left: Vec<_> = std::fs::read_dir(dir.path().join("creds/sub"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left.len(), 1, "{left:?}");
    }
}
