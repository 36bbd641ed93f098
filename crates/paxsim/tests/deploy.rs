//! The CI workflows (`.github/workflows/*.yml`) and the Kubernetes
//! manifest (`deploy/k8s/fuzz-job.yaml`) parse, and every paxsim command
//! line in them is one the real command line accepts: each `fuzz` runs
//! with `--dry-run` (clap and the plan check every flag and value; a
//! misspelled flag exits 2), and the pipelines run end to end, with fewer
//! seeds, in a scratch directory: the shards, then the merge of their
//! summaries, which must cover the whole range.

mod ci;
mod common;

use std::path::{Path, PathBuf};

use ci::{paxsim_in, read_json};
use common::{code, scratch_dir, stderr, stdout, workspace_root};
use yaml_rust2::{Yaml, YamlLoader};

fn load(relative: &str) -> Vec<Yaml> {
    let path = workspace_root().join(relative);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{relative}: {e}"));
    YamlLoader::load_from_str(&text).unwrap_or_else(|error| panic!("{relative}: {error}"))
}

fn text(yaml: &Yaml) -> String {
    match yaml {
        Yaml::String(text) | Yaml::Real(text) => text.clone(),
        Yaml::Integer(number) => number.to_string(),
        other => panic!("expected a scalar, found {other:?}"),
    }
}

fn list(yaml: &Yaml) -> &Vec<Yaml> {
    yaml.as_vec()
        .unwrap_or_else(|| panic!("expected a list, found {yaml:?}"))
}

/// The paxsim command lines of a `run:` script: each line whose first word
/// is a path to paxsim, its arguments up to a shell operator. `${{ ... }}`
/// is replaced from `context`; anything else a shell would expand fails
/// the test, so nothing is checked half-understood.
fn commands_in_script(script: &str, context: &[(&str, String)]) -> Vec<Vec<String>> {
    let mut commands = Vec::new();
    for line in script.lines() {
        let mut line = line.to_string();
        for (expression, value) in context {
            line = line.replace(&format!("${{{{ {expression} }}}}"), value);
        }
        let mut words = line.split_whitespace();
        let Some(program) = words.next() else {
            continue;
        };
        if !program.ends_with("paxsim") {
            continue;
        }
        let argv: Vec<String> = words
            .take_while(|word| !["|", "||", "&&", ";", ">", ">>", "2>", "<"].contains(word))
            .map(String::from)
            .collect();
        for word in &argv {
            assert!(
                !word.contains(['$', '"', '\'', '`', '*', '>', '<']),
                "`{word}` in `{line}`: a shell would change it"
            );
        }
        commands.push(argv);
    }
    commands
}

/// Run `argv` as written, but for `--seeds`, which gets `seeds`, and paths
/// under `/results`, which go to `root`.
fn adapted(argv: &[String], seeds: u64, root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut words = argv.iter();
    while let Some(word) = words.next() {
        out.push(word.replace("/results", &root.join("results").display().to_string()));
        if word == "--seeds" {
            words.next().expect("--seeds has a value");
            out.push(seeds.to_string());
        }
    }
    out
}

/// A `fuzz` command line passes clap and the plan's checks, unchanged.
fn check_dry_run(argv: &[String], env: &[(&str, &str)], context: &str) {
    assert_eq!(argv.first().map(String::as_str), Some("fuzz"), "{context}");
    let dir = scratch_dir("deploy-dry-run");
    let mut args: Vec<&str> = argv.iter().map(String::as_str).collect();
    args.push("--dry-run");
    let output = paxsim_in(&dir, &args, env);
    assert_eq!(code(&output), 0, "{context}: {argv:?}: {}", stderr(&output));
}

fn run_ok(dir: &Path, argv: &[String], env: &[(&str, &str)], codes: &[i32]) {
    let args: Vec<&str> = argv.iter().map(String::as_str).collect();
    let output = paxsim_in(dir, &args, env);
    assert!(
        codes.contains(&code(&output)),
        "{argv:?} exited {}: {}{}",
        code(&output),
        stdout(&output),
        stderr(&output)
    );
}

#[test]
fn the_checker_rejects_a_misspelled_flag() {
    let dir = scratch_dir("deploy-misspelled");
    let output = paxsim_in(&dir, &["fuzz", "--seedz", "4", "--dry-run"], &[]);
    assert_eq!(code(&output), 2, "{}", stdout(&output));
    let output = paxsim_in(
        &dir,
        &["fuzz", "--shard", "auto", "--shard-cuont", "2"],
        &[],
    );
    assert_eq!(code(&output), 2, "{}", stdout(&output));
    let script = "target/release/paxsim fuzz --shard ${{ matrix.other }}/4";
    let caught = std::panic::catch_unwind(|| commands_in_script(script, &[]));
    assert!(
        caught.is_err(),
        "an unknown expression is not checked half-way"
    );
}

/// The steps of a workflow job.
fn steps(job: &Yaml) -> &Vec<Yaml> {
    list(&job["steps"])
}

fn uses(step: &Yaml) -> String {
    step["uses"].as_str().unwrap_or_default().to_string()
}

#[test]
fn the_fuzz_workflow_shards_uploads_every_summary_and_merges_them() {
    let workflow = &load(".github/workflows/fuzz.yml")[0];
    let jobs = &workflow["jobs"];
    let matrix = list(&jobs["fuzz"]["strategy"]["matrix"]["shard"]);
    let shards: Vec<String> = matrix.iter().map(text).collect();
    assert_eq!(shards, ["0", "1", "2", "3"]);

    // Each shard's summary is uploaded whatever happened, the merge job
    // runs whatever happened and downloads them all into one directory.
    let upload = steps(&jobs["fuzz"])
        .iter()
        .find(|step| {
            uses(step).starts_with("actions/upload-artifact")
                && text(&step["with"]["name"]).starts_with("summary-")
        })
        .expect("a step uploads the summary");
    assert_eq!(upload["if"].as_str(), Some("always()"));
    let merge = &jobs["merge"];
    assert_eq!(merge["needs"].as_str(), Some("fuzz"));
    assert_eq!(merge["if"].as_str(), Some("always()"));
    let download = steps(merge)
        .iter()
        .find(|step| uses(step).starts_with("actions/download-artifact"))
        .expect("the merge job downloads the summaries");
    assert_eq!(download["with"]["pattern"].as_str(), Some("summary-*"));
    assert_eq!(download["with"]["merge-multiple"].as_bool(), Some(true));
    let downloaded = text(&download["with"]["path"]);
    assert!(
        steps(merge)
            .iter()
            .any(|step| uses(step).starts_with("mikepenz/action-junit-report")),
        "the merge publishes JUnit"
    );

    // Run the pipeline: every shard with fewer seeds, then the merge, in
    // one directory (the artifacts carry summaries/ from one to the other).
    let dir = scratch_dir("deploy-fuzz-workflow");
    let mut shard_commands = 0;
    for shard in &shards {
        let context = [("matrix.shard", shard.clone())];
        for step in steps(&jobs["fuzz"]) {
            for argv in commands_in_script(step["run"].as_str().unwrap_or_default(), &context) {
                check_dry_run(&argv, &[], "fuzz.yml");
                let upload_dir = text(&upload["with"]["path"]);
                assert!(
                    argv.iter()
                        .any(|word| word.starts_with(upload_dir.trim_end_matches('/'))),
                    "the summary goes where the upload takes it from: {argv:?}"
                );
                run_ok(&dir, &adapted(&argv, 400, &dir), &[], &[0]);
                shard_commands += 1;
            }
        }
    }
    assert_eq!(shard_commands, 4, "one paxsim fuzz per shard");
    let mut merges = 0;
    for step in steps(merge) {
        for argv in commands_in_script(step["run"].as_str().unwrap_or_default(), &[]) {
            assert_eq!(argv[0], "merge");
            assert!(
                argv[1].starts_with(&downloaded),
                "{argv:?} reads {downloaded}"
            );
            run_ok(&dir, &argv, &[], &[0]);
            merges += 1;
        }
    }
    assert_eq!(merges, 1);
    let merged = read_json(&dir.join("merged.json"));
    assert_eq!(merged["seeds_run"], 400);
    assert_eq!(merged["not_covered"], serde_json::Value::Null);
    assert!(dir.join("junit.xml").is_file());
}

#[test]
fn the_nightly_workflow_runs_half_an_hour_from_a_random_start() {
    let workflow = &load(".github/workflows/nightly.yml")[0];
    let cron = text(&workflow["on"]["schedule"][0]["cron"]);
    assert_eq!(cron.split_whitespace().count(), 5, "{cron}");
    let job = &workflow["jobs"]["fuzz"];
    let commands: Vec<Vec<String>> = steps(job)
        .iter()
        .flat_map(|step| commands_in_script(step["run"].as_str().unwrap_or_default(), &[]))
        .collect();
    assert_eq!(commands.len(), 1, "{commands:?}");
    let argv = &commands[0];
    let line = argv.join(" ");
    for needle in [
        "--duration 30m",
        "--seed-start random",
        "--junit junit.xml",
        "--out failures",
        "--shrink",
    ] {
        assert!(line.contains(needle), "{needle} in {line}");
    }
    check_dry_run(argv, &[], "nightly.yml");
    let published = steps(job)
        .iter()
        .find(|step| uses(step).starts_with("mikepenz/action-junit-report"))
        .expect("JUnit is published");
    assert_eq!(published["if"].as_str(), Some("always()"));
    assert_eq!(text(&published["with"]["report_paths"]), "junit.xml");
    let upload = steps(job)
        .iter()
        .find(|step| uses(step).starts_with("actions/upload-artifact"))
        .expect("the failures are uploaded");
    assert!(text(&upload["with"]["path"]).contains("failures/"));
}

/// A container's command and arguments.
fn argv_of(container: &Yaml) -> Vec<String> {
    let mut argv: Vec<String> = list(&container["command"]).iter().map(text).collect();
    if let Some(args) = container["args"].as_vec() {
        argv.extend(args.iter().map(text));
    }
    argv
}

#[test]
fn the_kubernetes_job_runs_its_shards_and_merges_them() {
    let documents = load("deploy/k8s/fuzz-job.yaml");
    let kinds: Vec<String> = documents.iter().map(|d| text(&d["kind"])).collect();
    assert_eq!(kinds, ["PersistentVolumeClaim", "Job", "Job"]);
    let claim = text(&documents[0]["metadata"]["name"]);
    assert_eq!(
        list(&documents[0]["spec"]["accessModes"])
            .iter()
            .map(text)
            .collect::<Vec<_>>(),
        ["ReadWriteMany"],
        "shards on different nodes share the volume"
    );
    let (fuzz, merge) = (&documents[1]["spec"], &documents[2]["spec"]);
    assert_eq!(fuzz["completionMode"].as_str(), Some("Indexed"));
    let completions = fuzz["completions"].as_i64().expect("completions") as u64;
    for job in [fuzz, merge] {
        let volumes = list(&job["template"]["spec"]["volumes"]);
        assert_eq!(
            text(&volumes[0]["persistentVolumeClaim"]["claimName"]),
            claim
        );
    }
    let shard_container = &list(&fuzz["template"]["spec"]["containers"])[0];
    let shard_argv = argv_of(shard_container);
    assert_eq!(shard_argv[0], "paxsim");
    let count_at = shard_argv
        .iter()
        .position(|w| w == "--shard-count")
        .unwrap();
    assert_eq!(
        shard_argv[count_at + 1],
        completions.to_string(),
        "--shard-count is the Job's completions"
    );
    let merge_spec = &merge["template"]["spec"];
    let wait = &list(&merge_spec["initContainers"])[0];
    let merge_argv = argv_of(&list(&merge_spec["containers"])[0]);
    assert_eq!(&merge_argv[..2], ["paxsim", "merge"]);

    // Every shard, as the Job controller starts it: $(JOB_COMPLETION_INDEX)
    // expanded by Kubernetes, the same value in the environment.
    let dir = scratch_dir("deploy-k8s");
    std::fs::create_dir_all(dir.join("results")).unwrap();
    for index in 0..completions {
        let index_text = index.to_string();
        let env = [("JOB_COMPLETION_INDEX", index_text.as_str())];
        let argv: Vec<String> = shard_argv[1..]
            .iter()
            .map(|word| word.replace("$(JOB_COMPLETION_INDEX)", &index_text))
            .collect();
        check_dry_run(&argv, &env, "fuzz-job.yaml");
        run_ok(&dir, &adapted(&argv, 16 * completions, &dir), &env, &[0]);
    }
    // The init container's wait ends at once: every summary is there.
    // (The timeout only keeps a broken script from hanging the suite.)
    let wait_argv = argv_of(wait);
    assert_eq!(&wait_argv[..2], ["sh", "-c"]);
    let script = wait_argv[2].replace("/results", &dir.join("results").display().to_string());
    let waited = std::process::Command::new("timeout")
        .args(["60", "sh", "-c", &script])
        .output()
        .unwrap();
    assert!(
        waited.status.success() && waited.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&waited.stdout)
    );
    run_ok(&dir, &adapted(&merge_argv[1..], 0, &dir), &[], &[0]);
    let merged = read_json(&dir.join("results/merged.json"));
    assert_eq!(merged["seeds_run"], 16 * completions);
    assert_eq!(merged["not_covered"], serde_json::Value::Null);
    let shards = merged["merged"]["shards"].as_array().unwrap();
    assert_eq!(shards.len() as u64, completions);
    assert!(dir.join("results/junit.xml").is_file());
    let junit: Vec<PathBuf> = std::fs::read_dir(dir.join("results/junit"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    assert_eq!(junit.len() as u64, completions, "one JUnit file per shard");
}
