//! Job slicing end to end: `--slice 1/4` ... `4/4` runs with `--output json`, merged by
//! `timonel recap merge`, give the same end state, PLAY RECAP and exit code as one run over
//! the whole inventory; a merge that can't be right is refused, naming the file.

use crate::support::{Lab, Out};

/// 61 hosts: ok, changed, skipped, failed, ignored and rescued results in one recap, and
/// one unreachable host, so the exit code's precedence (4 over 2) is exercised across slices.
const HOSTS: &str = "\
[web]
w[1:40] ansible_connection=local
[db]
d[1:20] ansible_connection=local
[far]
far1 ansible_host=127.0.0.1 ansible_port=1
";

const PLAYBOOK: &str = "\
- hosts: all
  gather_facts: no
  tasks:
    - copy:
        dest: \"{{ root }}/{{ out }}/{{ inventory_hostname }}\"
        content: \"{{ group_names | join(',') }} {{ groups['all'] | length }}\\n\"
    - debug: msg=database
      when: inventory_hostname in groups['db']
    - command: \"false\"
      when: inventory_hostname in ['w3', 'd4']
      ignore_errors: true
    - block:
        - fail: msg=rescued
          when: inventory_hostname in ['w8', 'w9']
      rescue:
        - debug: msg=rescue
    - fail: {msg: planned failure}
      when: inventory_hostname in ['w5', 'd2', 'w7']
    - copy:
        dest: \"{{ root }}/{{ out }}/{{ inventory_hostname }}.done\"
        content: done
";

/// What a run printed from its PLAY RECAP banner on.
fn recap_section(out: &Out) -> String {
    let at = out
        .stdout
        .find("PLAY RECAP")
        .unwrap_or_else(|| panic!("no PLAY RECAP\n{}\n{}", out.stdout, out.stderr));
    out.stdout[at..].to_string()
}

fn lab() -> Lab {
    let lab = Lab::new();
    lab.write("hosts.ini", HOSTS).write("p.yml", PLAYBOOK);
    std::fs::create_dir_all(lab.path("whole")).unwrap();
    std::fs::create_dir_all(lab.path("sliced")).unwrap();
    lab
}

/// Slice k of 4, its `--output json` result written to slice-k.json; its exit code.
fn run_slice(lab: &Lab, k: usize) -> i32 {
    let slice = format!("{k}/4");
    let out = lab.play(
        "p.yml",
        &[
            "-i",
            "hosts.ini",
            "-e",
            "out=sliced",
            "--slice",
            &slice,
            "--output",
            "json",
            "--no-retry-file",
        ],
    );
    assert!(
        [0, 2, 4].contains(&out.code),
        "slice {slice}: exit {}\n{}",
        out.code,
        out.stderr
    );
    lab.write(&format!("slice-{k}.json"), &out.stdout);
    out.code
}

#[test]
fn four_merged_slices_give_the_recap_and_exit_code_of_one_run() {
    let lab = lab();
    let whole = lab.play(
        "p.yml",
        &["-i", "hosts.ini", "-e", "out=whole", "--no-retry-file"],
    );
    whole.assert_code(4);
    assert_eq!(whole.recap("w8").rescued, 1);
    assert_eq!(whole.recap("d4").ignored, 1);

    let codes: Vec<i32> = (1..=4).map(|k| run_slice(&lab, k)).collect();
    // far1 is the inventory's 61st host: slice 1 (positions 0, 4, ..., 60) alone has an
    // unreachable host; w5, d2 and w7 fail in slices 1, 2 and 3.
    assert_eq!(codes, [4, 2, 2, 0], "the slices' own exit codes");
    assert_eq!(lab.tree("sliced"), lab.tree("whole"));
    // far1 wrote nothing; the three failed hosts no .done file.
    assert_eq!(lab.tree("whole").len(), 60 + 57);

    let merged = lab.run(&[
        "recap",
        "merge",
        "slice-1.json",
        "slice-2.json",
        "slice-3.json",
        "slice-4.json",
    ]);
    assert_eq!(merged.stderr, "");
    assert_eq!(merged.stdout, format!("\n{}", recap_section(&whole)));
    merged.assert_code(4);

    // Without the unreachable host's slice, the worst is a failed host: 2.
    lab.run(&["recap", "merge", "slice-2.json", "slice-4.json"])
        .assert_code(2);
    let clean = lab.run(&["recap", "merge", "slice-4.json"]);
    clean.assert_ok();
    assert_eq!(clean.recap("w4").changed, 2);
}

#[test]
fn a_merge_that_cannot_be_right_is_refused_naming_the_file() {
    let lab = lab();
    run_slice(&lab, 2);
    lab.write("text.json", "\nPLAY RECAP ****\n");
    lab.write("empty.json", "");

    // The same slice twice: its hosts would count double.
    lab.run(&["recap", "merge", "slice-2.json", "slice-2.json"])
        .assert_code(5)
        .assert_error(&[
            "error: host d10 is in both slice-2.json and slice-2.json (and 14 more hosts are in two files)",
            "each host belongs to one slice",
        ]);
    // Every unreadable or invalid file is named, and nothing is printed on stdout.
    let out = lab.run(&[
        "recap",
        "merge",
        "slice-2.json",
        "missing.json",
        "text.json",
        "empty.json",
    ]);
    out.assert_code(5).assert_error(&[
        "error: cannot read missing.json: No such file or directory",
        "error: text.json is not the result of a run with --output json: expected value at line 2 column 1",
        "error: empty.json is empty",
        "a run that stops before its recap (bad input, interrupted) writes no result",
    ]);
    assert_eq!(out.stdout, "");
    lab.run(&["recap", "merge"]).assert_code(5);
}

/// examples/slices: the Indexed Job, its merge Job and the entrypoint they run.
fn example(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/slices")
        .join(name)
}

/// The example's entrypoint, with this build's timonel first on PATH.
fn entrypoint(lab: &Lab, args: &[&str], env: &[(&str, &str)]) -> Out {
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_timonel"));
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = std::process::Command::new("sh")
        .arg(example("timonel-slice"))
        .args(args)
        .current_dir(lab.root())
        .env("PATH", path)
        .env("NO_COLOR", "1")
        .env("SLICES", "4")
        .env("RESULTS", lab.path("results"))
        .envs(env.iter().copied())
        .output()
        .expect("sh runs the entrypoint");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The image's entrypoint, as each of the Job's pods runs it (JOB_COMPLETION_INDEX 0..3),
/// then as the merge Job runs it: the same recap and exit code as one run.
#[test]
fn the_example_jobs_entrypoint_runs_one_slice_per_index_and_merges_them() {
    let lab = lab();
    std::fs::create_dir_all(lab.path("results")).unwrap();
    let whole = lab.play(
        "p.yml",
        &["-i", "hosts.ini", "-e", "out=whole", "--no-retry-file"],
    );
    let root = format!("root={}", lab.root().display());
    let (playbook, inventory) = (lab.path("p.yml"), lab.path("hosts.ini"));
    let (playbook, inventory) = (playbook.to_str().unwrap(), inventory.to_str().unwrap());
    let mut codes = vec![];
    for index in ["0", "1", "2", "3"] {
        let out = entrypoint(
            &lab,
            &["run", "-e", &root, "-e", "out=sliced"],
            &[
                ("JOB_COMPLETION_INDEX", index),
                ("PLAYBOOK", playbook),
                ("INVENTORY", inventory),
            ],
        );
        let k = index.parse::<usize>().unwrap() + 1;
        assert!(
            out.stderr.ends_with(&format!(
                "slice {k}/4: exit {}, result in {}/slice-{k}-of-4.json\n",
                out.code,
                lab.path("results").display()
            )),
            "{}",
            out.stderr
        );
        codes.push(out.code);
    }
    assert_eq!(codes, [4, 2, 2, 0]);
    assert_eq!(lab.tree("sliced"), lab.tree("whole"));
    let merged = entrypoint(&lab, &["merge"], &[]);
    assert_eq!(merged.stdout, format!("\n{}", recap_section(&whole)));
    merged.assert_code(whole.code);

    // A slice that stops before its recap (here a playbook that doesn't parse) leaves no
    // result, not even its earlier one: the merge names the missing file.
    lab.write("broken.yml", "- hosts: all\n  tasks: [\n");
    let broken = lab.path("broken.yml");
    let out = entrypoint(
        &lab,
        &["run"],
        &[
            ("JOB_COMPLETION_INDEX", "2"),
            ("PLAYBOOK", broken.to_str().unwrap()),
            ("INVENTORY", inventory),
        ],
    );
    out.assert_code(5);
    assert!(
        out.stderr
            .ends_with("slice 3/4: timonel stopped before its recap (exit 5); no result written\n"),
        "{}",
        out.stderr
    );
    entrypoint(&lab, &["merge"], &[])
        .assert_code(5)
        .assert_error(&["slice-3-of-4.json: No such file or directory"]);
}

/// The manifests apply cleanly (k8s_apply, server-side) to the fake API server, which checks
/// an Indexed Job's rules as the apiserver does (completions, backoffLimitPerIndex, the pod
/// failure policy); re-applying changes nothing.
#[test]
fn the_example_indexed_job_applies_to_the_kubernetes_api() {
    use crate::k8s_fake::ApiServer;
    let fake = ApiServer::start_with(&["--job-seconds", "0.3"]);
    let lab = Lab::new();
    // The Secret a user makes from their key (README: kubectl create secret generic ...).
    lab.write(
        "secret.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata: {name: timonel-ssh, namespace: timonel}\n\
         stringData: {id_ed25519: not-a-key, known_hosts: not-a-host-key}\n",
    );
    lab.write(
        "apply.yml",
        "- hosts: localhost\n  gather_facts: no\n  tasks:\n\
         \x20   - k8s_apply: {kubeconfig: \"{{ kubeconfig }}\", src: \"{{ item }}\", wait: true, wait_timeout: 30}\n\
         \x20     loop: \"{{ files.split(',') }}\"\n",
    );
    let kc = format!("kubeconfig={}", fake.kubeconfig().display());
    let files = format!(
        "files={},{},{}",
        example("job.yaml").display(),
        example("project.yaml").display(),
        lab.path("secret.yaml").display()
    );
    let out = lab.play("apply.yml", &["-e", &kc, "-e", &files]);
    out.assert_ok();
    assert_eq!(out.recap("localhost").changed, 1);

    let job = fake
        .get("/apis/batch/v1/namespaces/timonel/jobs/timonel-slices")
        .expect("the Job exists");
    let spec = &job["spec"];
    assert_eq!(spec["completionMode"], "Indexed");
    let pod = &spec["template"]["spec"];
    let env = |c: &serde_json::Value, name: &str| -> String {
        c["env"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name)
            .and_then(|e| e["value"].as_str())
            .unwrap_or_else(|| panic!("no {name} in {c}"))
            .to_string()
    };
    // N in one place for the user to change twice: completions and SLICES agree.
    assert_eq!(
        env(&pod["containers"][0], "SLICES"),
        spec["completions"].to_string()
    );
    assert_eq!(
        job["status"]["completedIndexes"], "0-3",
        "waited for the Job: {job}"
    );
    assert!(fake
        .get("/api/v1/namespaces/timonel/configmaps/timonel-project")
        .is_some());

    // Applying again (a new playbook in the ConfigMap, say) leaves the Job as it is.
    let out = lab.play("apply.yml", &["-e", &kc, "-e", &files]);
    out.assert_ok();
    assert_eq!(out.recap("localhost").changed, 0, "{}", out.stdout);

    // kubectl, as the example's README applies them, accepts the same files.
    let job_yaml = example("job.yaml");
    let merge_yaml = example("merge.yaml");
    let out = fake.kubectl(&[
        "apply",
        "--server-side",
        "--dry-run=server",
        "-f",
        job_yaml.to_str().unwrap(),
        "-f",
        merge_yaml.to_str().unwrap(),
    ]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .contains("job.batch/timonel-slices serverside-applied (server dry run)"),
        "{}",
        out.stdout
    );

    // After the slices, the merge Job: same image, same N, the results volume read-only.
    let merge = format!("files={}", example("merge.yaml").display());
    lab.play("apply.yml", &["-e", &kc, "-e", &merge])
        .assert_ok();
    let m = fake
        .get("/apis/batch/v1/namespaces/timonel/jobs/timonel-merge")
        .expect("the merge Job exists");
    let mc = &m["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(mc["image"], pod["containers"][0]["image"]);
    assert_eq!(env(mc, "SLICES"), spec["completions"].to_string());
    assert_eq!(m["status"]["succeeded"], 1);
}
