//! Broken or hostile input never runs silently, never crashes the process and never fills
//! the memory: each case ends with a clear error (file, line, the limit and how to raise it)
//! and the exit code Ansible uses (5: bad input, nothing ran; 2: a host failed; 1: error).
//!
//! The binary runs under a memory ceiling and a time limit here, so a regression fails the
//! test instead of harming the machine. `TIMONEL_BIN` runs these tests against another build
//! (to check that a test fails without its fix).

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{Lab, Out};

const MEMORY_CEILING: u64 = 4 << 30;
const TIME_LIMIT: Duration = Duration::from_secs(120);

fn bin() -> String {
    std::env::var("TIMONEL_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_timonel").to_string())
}

fn command(lab: &Lab, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(bin());
    cmd.args(args)
        .current_dir(lab.root())
        .env("NO_COLOR", "1")
        .env_remove("ANSIBLE_INVENTORY")
        .env_remove("SSH_AUTH_SOCK");
    for (k, v) in env {
        cmd.env(k, v);
    }
    // SAFETY: setrlimit is async-signal-safe and touches only the child.
    unsafe {
        cmd.pre_exec(|| {
            let lim = libc::rlimit {
                rlim_cur: MEMORY_CEILING,
                rlim_max: MEMORY_CEILING,
            };
            libc::setrlimit(libc::RLIMIT_AS, &lim);
            Ok(())
        });
    }
    cmd
}

/// Runs timonel bounded in memory and time; a signal shows as code 128 + signal.
fn run(lab: &Lab, args: &[&str], env: &[(&str, &str)]) -> Out {
    let mut child = command(lab, args, env)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run timonel");
    let mut so = child.stdout.take().expect("stdout");
    let mut se = child.stderr.take().expect("stderr");
    let t_out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = so.read_to_string(&mut s);
        s
    });
    let t_err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = se.read_to_string(&mut s);
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if start.elapsed() > TIME_LIMIT {
            let _ = child.kill();
            panic!("timonel {args:?} ran longer than {TIME_LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = Out {
        code: status
            .code()
            .unwrap_or_else(|| 128 + status.signal().unwrap_or(0)),
        stdout: t_out.join().expect("stdout reader"),
        stderr: t_err.join().expect("stderr reader"),
    };
    assert!(
        !out.stderr.contains("overflowed its stack") && !out.stderr.contains("memory allocation"),
        "crashed:\n{}",
        out.stderr
    );
    out
}

fn play(lab: &Lab, playbook: &str, extra: &[&str]) -> Out {
    let root = format!("root={}", lab.root().display());
    let mut args = vec!["run", playbook, "-e", root.as_str()];
    args.extend_from_slice(extra);
    run(lab, &args, &[])
}

const HEAD: &str = "- hosts: localhost\n  gather_facts: no\n  tasks:\n";

// 1. Broken input that was silently accepted.

#[test]
fn a_playbook_with_a_second_yaml_document_is_rejected() {
    let lab = Lab::new();
    lab.write(
        "site.yml",
        &format!("{HEAD}    - file: path={{{{ root }}}}/ran state=touch\n---\n{HEAD}    - debug: msg=dropped\n"),
    );
    play(&lab, "site.yml", &[]).assert_code(5).assert_error(&[
        "a second YAML document starts here, but a playbook must be a single document",
        "site.yml:5:1",
        "remove the '---' on line 5",
        "nothing was run",
    ]);
    assert!(!lab.exists("ran"));
    // A task file too; a stray '---' at the end drops nothing and stays accepted.
    lab.write("tasks.yml", "- debug: msg=a\n---\n- debug: msg=b\n");
    lab.write("imp.yml", &format!("{HEAD}    - import_tasks: tasks.yml\n"));
    play(&lab, "imp.yml", &[])
        .assert_code(5)
        .assert_error(&["a task file must be a single document", "tasks.yml:2:1"]);
    lab.write(
        "ok.yml",
        &format!("---\n{HEAD}    - debug: msg=fine\n---\n"),
    );
    play(&lab, "ok.yml", &[]).assert_ok();
}

#[test]
fn a_group_cycle_in_the_inventory_is_rejected() {
    let lab = Lab::new();
    lab.write(
        "p.yml",
        &format!("{HEAD}    - debug: msg=x\n").replace("localhost", "all"),
    );
    lab.write(
        "hosts.ini",
        "[a]\nh1 ansible_connection=local\n[a:children]\nb\n[b:children]\na\n[a:vars]\nx=1\n",
    );
    run(&lab, &["run", "-i", "hosts.ini", "p.yml"], &[])
        .assert_code(5)
        .assert_error(&[
            "group cycle: making 'a' a child of 'b' creates a loop: b → a → b",
            "hosts.ini:6:1",
        ]);
    lab.write(
        "hosts.yml",
        "all:\n  children:\n    a:\n      hosts: {h1: {ansible_connection: local}}\n      children:\n        b:\n          children:\n            a:\n",
    );
    run(&lab, &["run", "-i", "hosts.yml", "p.yml"], &[])
        .assert_code(5)
        .assert_error(&["group cycle", "b → a → b", "hosts.yml:8:13"]);
}

#[test]
fn a_limit_or_start_at_task_that_matches_nothing_is_an_error() {
    let lab = Lab::new();
    lab.write(
        "p.yml",
        &format!("{HEAD}    - name: first step\n      file: path={{{{ root }}}}/ran state=touch\n")
            .replace("localhost", "all"),
    );
    lab.write("hosts.ini", "[web]\nweb1 ansible_connection=local\n");
    play(&lab, "p.yml", &["-i", "hosts.ini", "--limit", "wbe1"])
        .assert_code(5)
        .assert_error(&[
            "--limit 'wbe1' matches no host (did you mean 'web1'?)",
            "leaves us with no hosts to target",
        ]);
    play(
        &lab,
        "p.yml",
        &["-i", "hosts.ini", "--start-at-task", "frist step"],
    )
    .assert_code(5)
    .assert_error(&[
        "no matching task \"frist step\" found in p.yml (did you mean 'first step'?)",
        "include_tasks",
    ]);
    assert!(!lab.exists("ran"));
    play(&lab, "p.yml", &["-i", "hosts.ini", "--limit", "web*"]).assert_ok();
    assert!(lab.exists("ran"));
}

#[test]
fn a_condition_with_a_syntax_error_is_caught_before_anything_runs() {
    let lab = Lab::new();
    lab.write(
        "bad.yml",
        &format!(
            "{HEAD}    - file: path={{{{ root }}}}/ran state=touch\n    - command: 'true'\n      until: \"1 ==\"\n      retries: 2\n      delay: 0\n    - debug: msg=x\n      when: ['x is defined', '{{{{ 1 == }}}}']\n    - command: 'true'\n      changed_when: \"rc ===\"\n      failed_when: \"rc > \"\n"
        ),
    );
    play(&lab, "bad.yml", &[]).assert_code(5).assert_error(&[
        "syntax error in the 'until' condition '1 ==': unexpected end of input",
        "bad.yml:6:14",
        "syntax error in the 'when' condition '{{ 1 == }}'",
        "bad.yml:10:30",
        "syntax error in the 'changed_when' condition 'rc ==='",
        "bad.yml:12:21",
        "syntax error in the 'failed_when' condition 'rc >'",
        "bad.yml:13:20",
        "a condition is a Jinja expression",
        "4 errors found; nothing was run",
    ]);
    assert!(!lab.exists("ran"));
}

#[test]
fn keywords_of_the_wrong_type_are_rejected() {
    let lab = Lab::new();
    lab.write(
        "bad.yml",
        &format!(
            "{HEAD}    - debug: msg=a\n      tags: {{a: 1}}\n    - command: 'true'\n      until: rc == 0\n      retries: many\n    - debug: msg=b\n      ignore_errors: maybe\n    - debug: msg=c\n      register: [a]\n    - debug: msg=d\n      when: {{a: 1}}\n    - meta: flush_handler\n    - block:\n        - debug: msg=e\n      become: perhaps\n"
        ),
    );
    play(&lab, "bad.yml", &[]).assert_code(5).assert_error(&[
        "'tags' must be a tag or a list of them, not a mapping",
        "bad.yml:5:13",
        "'retries' must be a whole number, not 'many'",
        "bad.yml:8:16",
        "'ignore_errors' must be a boolean (true/false, yes/no), not 'maybe'",
        "bad.yml:10:22",
        "'register' must be a name, not a list",
        "bad.yml:12:17",
        "'when' must be a condition or a list of conditions, not a mapping",
        "bad.yml:14:13",
        "unknown meta action 'flush_handler' (did you mean 'flush_handlers'?)",
        "bad.yml:15:13",
        "'become' must be a boolean",
        "bad.yml:18:15",
        "7 errors found",
    ]);
    // The right types, templates included, still run.
    lab.write(
        "good.yml",
        &format!(
            "{HEAD}    - command: 'true'\n      register: r\n      retries: \"{{{{ n }}}}\"\n      delay: 0\n      until: r.rc == 0\n      ignore_errors: \"{{{{ flag }}}}\"\n      tags: [a, 1]\n      when: [true, 'n | int == 2']\n    - meta: noop\n"
        ),
    );
    play(&lab, "good.yml", &["-e", "n=2", "-e", "flag=yes"]).assert_ok();
}

#[test]
fn unknown_yaml_tags_are_rejected_and_standard_ones_apply() {
    let lab = Lab::new();
    lab.write(
        "py.yml",
        &format!(
            "{HEAD}    - debug: msg=x\n      vars: !!python/object/apply:os.system ['touch ran']\n"
        ),
    );
    play(&lab, "py.yml", &[]).assert_code(5).assert_error(&[
        "unknown YAML tag '!!python/object/apply:os.system' on a list",
        "py.yml:5:13",
        "remove the tag",
    ]);
    lab.write(
        "custom.yml",
        &format!("{HEAD}    - debug: msg=x\n      vars:\n        a: !custom value\n"),
    );
    play(&lab, "custom.yml", &[])
        .assert_code(5)
        .assert_error(&["unknown YAML tag '!custom' on a value", "custom.yml:6:12"]);
    lab.write(
        "typed.yml",
        &format!("{HEAD}    - copy:\n        dest: \"{{{{ root }}}}/out\"\n        content: \"{{{{ [n + 1, s ~ '!', u] }}}}\"\n      vars:\n        n: !!int '41'\n        s: !!str 5\n        u: !unsafe 'raw'\n"),
    );
    play(&lab, "typed.yml", &[]).assert_ok();
    assert_eq!(lab.read("out"), r#"[42,"5!","raw"]"#);
    lab.write(
        "wrong.yml",
        &format!("{HEAD}    - debug: msg=x\n      vars:\n        n: !!int many\n"),
    );
    play(&lab, "wrong.yml", &[]).assert_code(5).assert_error(&[
        "'many' is not an integer, but it is tagged !!int",
        "wrong.yml:6:12",
    ]);
}

#[test]
fn zero_forks_and_an_unknown_connection_are_bad_input() {
    let lab = Lab::new();
    lab.write(
        "p.yml",
        &format!("{HEAD}    - file: path={{{{ root }}}}/ran state=touch\n"),
    );
    play(&lab, "p.yml", &["-f", "0"])
        .assert_code(5)
        .assert_error(&["the number of forks must be at least 1"]);
    play(&lab, "p.yml", &["-c", "telnet"])
        .assert_code(5)
        .assert_error(&["unknown connection type 'telnet'", "local", "ssh"]);
    assert!(!lab.exists("ran"));
}

// 2. Crashes.

#[test]
fn deeply_nested_yaml_is_an_error_not_a_stack_overflow() {
    let lab = Lab::new();
    let vars = |body: &str| format!("{HEAD}    - debug: msg=x\n  vars:\n    x:\n{body}");
    // 10,000 block sequences, 2,000 block mappings, 10,000 flow collections.
    lab.write(
        "seq.yml",
        &vars(&format!("      {}v\n", "- ".repeat(10_000))),
    );
    let mut maps = String::new();
    for i in 0..2_000 {
        maps.push_str(&" ".repeat(i + 5));
        maps.push_str("k:\n");
    }
    lab.write("map.yml", &vars(&maps));
    lab.write(
        "flow.yml",
        &vars(&format!(
            "      {}{}\n",
            "[".repeat(10_000),
            "]".repeat(10_000)
        )),
    );
    play(&lab, "seq.yml", &[]).assert_code(5).assert_error(&[
        "YAML nesting too deep: more than 500 levels are open here",
        "seq.yml:7:",
        "TIMONEL_MAX_YAML_DEPTH=1000",
    ]);
    play(&lab, "map.yml", &[])
        .assert_code(5)
        .assert_error(&["YAML nesting too deep", "map.yml:504:"]);
    play(&lab, "flow.yml", &[])
        .assert_code(5)
        .assert_error(&["YAML nesting too deep", "flow.yml:7:"]);
}

#[test]
fn a_thousand_nested_blocks_are_an_error() {
    let lab = Lab::new();
    let nest = |n: usize| {
        let mut s = HEAD.to_string();
        for i in 0..n {
            s.push_str(&format!("{}- block:\n", " ".repeat(4 + 2 * i)));
        }
        s.push_str(&format!("{}- debug: msg=deep\n", " ".repeat(4 + 2 * n)));
        s
    };
    lab.write("deep.yml", &nest(1_000));
    play(&lab, "deep.yml", &[])
        .assert_code(5)
        .assert_error(&["YAML nesting too deep", "deep.yml:"]);
    // Under the YAML limit, the nesting limit names the block; raised, it runs.
    lab.write("six.yml", &nest(6));
    run(&lab, &["run", "six.yml"], &[("TIMONEL_MAX_NESTING", "5")])
        .assert_code(5)
        .assert_error(&[
            "blocks nested too deeply: this block is 6 levels deep",
            "six.yml:9:",
            "set TIMONEL_MAX_NESTING=10",
        ]);
    lab.write("ninety.yml", &nest(90));
    play(&lab, "ninety.yml", &[]).assert_ok();
}

#[test]
fn import_tasks_loops_are_errors_naming_the_chain() {
    let lab = Lab::new();
    lab.write("self.yml", "- debug: msg=x\n- import_tasks: self.yml\n");
    lab.write("a.yml", "- import_tasks: b.yml\n");
    lab.write("b.yml", "- debug: msg=b\n- import_tasks: a.yml\n");
    lab.write("p1.yml", &format!("{HEAD}    - import_tasks: self.yml\n"));
    lab.write("p2.yml", &format!("{HEAD}    - import_tasks: a.yml\n"));
    play(&lab, "p1.yml", &[]).assert_code(5).assert_error(&[
        "import_tasks loop: self.yml → self.yml",
        "self.yml:2:3",
        "use include_tasks with a `when:`",
    ]);
    play(&lab, "p2.yml", &[])
        .assert_code(5)
        .assert_error(&["import_tasks loop: a.yml → b.yml → a.yml", "b.yml:2:3"]);
}

#[test]
fn include_tasks_recursion_stops_at_the_nesting_limit() {
    let lab = Lab::new();
    lab.write("self.yml", "- include_tasks: self.yml\n");
    lab.write("a.yml", "- include_tasks: b.yml\n");
    lab.write("b.yml", "- include_tasks: a.yml\n");
    lab.write("p1.yml", &format!("{HEAD}    - include_tasks: self.yml\n"));
    lab.write("p2.yml", &format!("{HEAD}    - include_tasks: a.yml\n"));
    let out = play(&lab, "p1.yml", &[]);
    out.assert_code(2);
    for want in [
        "include_tasks nested too deeply",
        "self.yml → self.yml",
        "self.yml:1:3",
        "TIMONEL_MAX_NESTING=200",
    ] {
        assert!(out.stdout.contains(want), "{want}:\n{}", out.stdout);
    }
    let out = play(&lab, "p2.yml", &[]);
    out.assert_code(2);
    assert!(
        out.stdout.contains("a.yml → b.yml → a.yml"),
        "{}",
        out.stdout
    );
    // A recursion that a condition ends still works. (Not with `vars: {n: 0}` on the
    // include: include params beat set_fact, so n would stay 0, as it does in Ansible.)
    lab.write(
        "count.yml",
        "- set_fact: {n: \"{{ n | int + 1 }}\"}\n- include_tasks: count.yml\n  when: n | int < 20\n",
    );
    lab.write(
        "p3.yml",
        &format!("{HEAD}    - set_fact: {{n: 0}}\n    - include_tasks: count.yml\n    - copy: {{dest: \"{{{{ root }}}}/n\", content: \"{{{{ n }}}}\"}}\n"),
    );
    play(&lab, "p3.yml", &[]).assert_ok();
    assert_eq!(lab.read("n"), "20");
}

// 3. Memory.

#[test]
fn a_yaml_alias_bomb_stops_at_the_alias_limit() {
    let lab = Lab::new();
    let mut s = format!("{HEAD}    - debug: msg=x\n  vars:\n    a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
    for w in names.windows(2) {
        let refs = vec![format!("*{}", w[0]); 9].join(", ");
        s.push_str(&format!("    {}: &{} [{refs}]\n", w[1], w[1]));
    }
    lab.write("bomb.yml", &s);
    let start = Instant::now();
    play(&lab, "bomb.yml", &[]).assert_code(5).assert_error(&[
        "YAML aliases expand to more than 1000000 nodes",
        "bomb.yml:12:",
        "TIMONEL_MAX_YAML_ALIAS_NODES=2000000",
    ]);
    assert!(start.elapsed() < Duration::from_secs(30));
    // Ordinary anchors and merge keys are untouched.
    lab.write(
        "anchors.yml",
        &format!("{HEAD}    - copy:\n        dest: \"{{{{ root }}}}/out\"\n        content: \"{{{{ b.x }}}}{{{{ b.y }}}}\"\n  vars:\n    a: &a {{x: 1, y: 2}}\n    b:\n      <<: *a\n      y: 3\n"),
    );
    play(&lab, "anchors.yml", &[]).assert_ok();
    assert_eq!(lab.read("out"), "13");
}

#[test]
fn a_huge_host_range_is_an_error() {
    let lab = Lab::new();
    lab.write(
        "p.yml",
        &format!("{HEAD}    - debug: msg=x\n").replace("localhost", "all"),
    );
    lab.write("hosts.ini", "[web]\nh[0:99999999]\n");
    run(&lab, &["run", "-i", "hosts.ini", "p.yml"], &[])
        .assert_code(5)
        .assert_error(&[
            "host range 'h[0:99999999]' stands for 100000000 hosts, more than 100000",
            "hosts.ini:2:1",
            "TIMONEL_MAX_RANGE_HOSTS=200000",
        ]);
    lab.write("two.ini", "[web]\nh[1:20]\n");
    run(
        &lab,
        &["inventory", "-i", "two.ini", "--list"],
        &[("TIMONEL_MAX_RANGE_HOSTS", "10")],
    )
    .assert_code(5)
    .assert_error(&["stands for 20 hosts, more than 10"]);
}

#[test]
fn a_huge_sequence_and_a_doubling_template_fail_the_task() {
    let lab = Lab::new();
    lab.write(
        "seq.yml",
        &format!("{HEAD}    - debug: msg=\"{{{{ lookup('sequence', 'start=1 end=999999999') | length }}}}\"\n    - debug: msg=x\n      with_sequence: start=0 end=99999999999\n"),
    );
    let out = play(&lab, "seq.yml", &[]);
    out.assert_code(2);
    assert!(
        out.stdout.contains("has 999999999 items, more than 100000")
            && out.stdout.contains("TIMONEL_MAX_SEQUENCE=200000"),
        "{}",
        out.stdout
    );
    // Output that a loop makes too large.
    lab.write(
        "out.yml",
        &format!("{HEAD}    - copy:\n        dest: \"{{{{ root }}}}/big\"\n        content: \"{{% for i in range(100000) %}}{{{{ 'x' * 1000 }}}}{{% endfor %}}\"\n"),
    );
    let out = play(&lab, "out.yml", &[]);
    out.assert_code(2);
    assert!(
        out.stdout.contains("renders to more than 67108864 bytes")
            && out.stdout.contains("TIMONEL_MAX_TEMPLATE_OUTPUT=134217728"),
        "{}",
        out.stdout
    );
    assert!(!lab.exists("big"));
    // A string doubled inside one template, never output.
    lab.write(
        "double.yml",
        &format!("{HEAD}    - debug:\n        msg: \"{{% set ns = namespace(s='ab') %}}{{% for i in range(40) %}}{{% set ns.s = ns.s ~ ns.s %}}{{% endfor %}}{{{{ ns.s | length }}}}\"\n"),
    );
    run(
        &lab,
        &["run", "double.yml"],
        &[("TIMONEL_MAX_TEMPLATE_MEMORY", "100000000")],
    )
    .assert_code(1)
    .assert_error(&[
        "took more than 100000000 bytes of memory",
        "namespace(s='ab')",
        "TIMONEL_MAX_TEMPLATE_MEMORY=200000000",
    ]);
}

#[test]
fn reading_an_endless_file_stops_at_the_file_size_limit() {
    let lab = Lab::new();
    lab.write(
        "p.yml",
        &format!("{HEAD}    - debug: msg=\"{{{{ lookup('file', '/dev/zero') | length }}}}\"\n"),
    );
    let out = play(&lab, "p.yml", &[]);
    out.assert_code(2);
    assert!(
        out.stdout
            .contains("cannot read /dev/zero: the file is larger than 67108864 bytes")
            && out.stdout.contains("TIMONEL_MAX_FILE_SIZE=134217728"),
        "{}",
        out.stdout
    );
    play(&lab, "p.yml", &["-e", "@/dev/zero"])
        .assert_code(5)
        .assert_error(&[
            "cannot read /dev/zero: the file is larger than 67108864 bytes",
            "TIMONEL_MAX_FILE_SIZE",
        ]);
}

#[test]
fn an_endless_template_source_or_with_lines_output_stops_at_the_file_size_limit() {
    let lab = Lab::new();
    lab.write(
        "p.yml",
        &format!(
            "{HEAD}    - template: {{src: /dev/zero, dest: '{{{{ root }}}}/out'}}\n      ignore_errors: yes\n    - debug: msg={{{{ item }}}}\n      with_lines: 'yes x'\n"
        ),
    );
    let out = run(
        &lab,
        &[
            "run",
            "p.yml",
            "-e",
            &format!("root={}", lab.root().display()),
        ],
        &[("TIMONEL_MAX_FILE_SIZE", "1000000")],
    );
    out.assert_code(2);
    assert!(
        out.stdout.contains(
            "could not read template: cannot read /dev/zero: the file is larger than 1000000 bytes"
        ),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("with_lines: the output of yes x is larger than 1000000 bytes")
            && out.stdout.contains("TIMONEL_MAX_FILE_SIZE=2000000"),
        "{}",
        out.stdout
    );
    assert!(!lab.exists("out"));
}

// 4. A closed stdout.

#[test]
fn a_closed_stdout_pipe_ends_quietly() {
    let lab = Lab::new();
    let mut tasks = HEAD.to_string();
    for i in 0..5_000 {
        tasks.push_str(&format!("    - name: step {i}\n      debug: msg=x\n"));
    }
    lab.write("p.yml", &tasks);
    for args in [&["doc"][..], &["run", "p.yml", "--list-tasks"]] {
        let mut child = command(&lab, args, &[])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run timonel");
        // Like `| head -1`: read one line, then close the pipe.
        let mut first = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut first)
            .expect("first line");
        let mut err = String::new();
        child
            .stderr
            .take()
            .expect("stderr")
            .read_to_string(&mut err)
            .expect("stderr");
        let status = child.wait().expect("wait");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(err.is_empty(), "{args:?} wrote to stderr: {err}");
        assert!(
            status.signal() == Some(libc::SIGPIPE) || status.code() == Some(0),
            "{args:?}: {status:?}"
        );
    }
}
