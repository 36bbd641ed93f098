//! `paxsim merge`: the shards of a campaign merge into what the unsharded
//! campaign reports; missing and interrupted shards are named with the
//! seeds they left out; summaries that are malformed or of another
//! campaign are bad input, named by file and field.

mod ci;
mod common;

use std::path::Path;

use ci::{paxsim_in, read_json, write_json};
use common::{code, scratch_dir, stderr, stdout};
use serde_json::{Value, json};

/// Run the shards of `--seeds SEEDS` with `extra` flags; their summaries
/// are `shard-K.json` in `dir`.
fn run_shards(dir: &Path, seeds: u64, count: u64, extra: &[&str]) {
    for index in 0..count {
        let shard = format!("{index}/{count}");
        let summary = format!("shard-{index}.json");
        let seeds = seeds.to_string();
        let mut args = vec!["fuzz", "--seeds", &seeds, "--shard", &shard];
        args.extend(["--summary", &summary]);
        args.extend(extra);
        let output = paxsim_in(dir, &args, &[]);
        assert!(
            [0, 1].contains(&code(&output)),
            "shard {shard}: {}",
            stderr(&output)
        );
    }
}

fn merge_json(dir: &Path, files: &[&str]) -> (i32, Value) {
    let mut args = vec!["merge", "--json"];
    args.extend(files);
    let output = paxsim_in(dir, &args, &[]);
    let text = stdout(&output);
    let value = serde_json::from_str(&text)
        .unwrap_or_else(|error| panic!("{error}: {text}\n{}", stderr(&output)));
    (code(&output), value)
}

#[test]
fn merged_shards_report_what_the_unsharded_campaign_reports() {
    let dir = scratch_dir("merge-equal");
    let flaw = ["--flaw", "no-client-dedup"];
    run_shards(&dir, 60, 3, &flaw);
    let whole = paxsim_in(
        &dir,
        &[
            "fuzz",
            "--seeds",
            "60",
            "--flaw",
            "no-client-dedup",
            "--json",
        ],
        &[],
    );
    assert_eq!(code(&whole), 1, "{}", stderr(&whole));
    let whole: Value = serde_json::from_str(&stdout(&whole)).unwrap();
    let files = ["shard-0.json", "shard-1.json", "shard-2.json"];
    let (exit, merged) = merge_json(&dir, &files);
    assert_eq!(exit, 1, "the flaw fails seeds: {merged}");
    for field in [
        "seeds_run",
        "seed_start",
        "seed_last",
        "seeds_planned",
        "covered",
        "not_covered",
        "shard",
        "events",
        "ops",
        "seeds_without_completed_ops",
        "warnings",
        "failures",
        "nondeterministic",
        "probes",
        "flaws",
        "pins",
        "interrupted",
        "signal",
    ] {
        assert_eq!(merged[field], whole[field], "`{field}` differs");
    }
    assert!(merged["failures"].as_array().unwrap().len() > 3, "{merged}");
    // The same form as a fuzz summary: every field of one, and the shards.
    for field in whole.as_object().unwrap().keys() {
        assert!(merged.get(field).is_some(), "merged lacks `{field}`");
    }
    assert_eq!(merged["shard_source"]["from"], "merge");
    let shards = merged["merged"]["shards"].as_array().unwrap();
    assert_eq!(shards.len(), 3);
    assert_eq!(shards[1]["file"], "shard-1.json");
    assert_eq!(shards[1]["seeds_run"], 20);

    // Merges compose: a merged summary merges to itself.
    write_json(&dir.join("merged.json"), &merged);
    let (again_exit, again) = merge_json(&dir, &["merged.json"]);
    assert_eq!((again_exit, &again), (1, &merged));
}

#[test]
fn a_clean_campaign_merges_to_a_pass() {
    let dir = scratch_dir("merge-pass");
    run_shards(&dir, 40, 2, &[]);
    let output = paxsim_in(&dir, &["merge", "."], &[]);
    assert_eq!(code(&output), 0, "{}{}", stdout(&output), stderr(&output));
    let text = stdout(&output);
    assert!(text.contains("seeds run: 40 of 40"), "{text}");
    assert!(text.contains("failures: none"), "{text}");
    assert!(text.ends_with("result: PASS\n"), "{text}");
}

#[test]
fn missing_and_interrupted_shards_are_named_with_the_seeds_they_left_out() {
    let dir = scratch_dir("merge-gaps");
    run_shards(&dir, 40, 4, &[]);
    std::fs::remove_file(dir.join("shard-2.json")).unwrap();
    // Shard 3/4 (seeds 3, 7, ..., 39) as a SIGTERM after 3 of its 10 seeds
    // leaves it.
    let path = dir.join("shard-3.json");
    let mut interrupted = read_json(&path);
    interrupted["seeds_run"] = json!(3);
    interrupted["covered"]["seeds"] = json!(3);
    interrupted["not_covered"] = json!({"first_seed": 15, "step": 4, "seeds": 7});
    interrupted["interrupted"] = json!(true);
    interrupted["signal"] = json!("SIGTERM");
    write_json(&path, &interrupted);

    let output = paxsim_in(&dir, &["merge", "."], &[]);
    let text = stdout(&output);
    assert_eq!(code(&output), 1, "{text}{}", stderr(&output));
    assert!(
        text.contains(
            "shard 2/4 missing: no summary; not run: seeds 2, 6, ... every 4th (10 seeds)"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "shard 3/4 (./shard-3.json) interrupted by SIGTERM after 3 seeds; \
             not run: seeds 15, 19, ... every 4th (7 seeds)"
        ),
        "{text}"
    );
    assert!(text.contains("seeds run: 23 of 40"), "{text}");
    assert!(
        text.contains("result: INCOMPLETE (1 of 4 shards missing, 1 interrupted)"),
        "{text}"
    );

    let (exit, merged) = merge_json(&dir, &["."]);
    assert_eq!(exit, 1);
    assert_eq!(merged["interrupted"], true);
    assert_eq!(merged["signal"], "SIGTERM");
    // Seeds 0 and 1 ran; seed 2 (shard 2/4) did not.
    assert_eq!(
        merged["covered"],
        json!({"first_seed": 0, "step": 1, "seeds": 2})
    );
    assert_eq!(
        merged["not_covered"],
        json!({"first_seed": 2, "step": 1, "seeds": 38})
    );
    let missing = &merged["merged"]["shards"][2];
    assert_eq!(missing["file"], Value::Null);
    assert_eq!(
        missing["not_covered"],
        json!({"first_seed": 2, "step": 4, "seeds": 10})
    );
    // Merged again, it still names what is missing: never a later pass.
    write_json(&dir.join("merged.json"), &merged);
    let again = paxsim_in(&dir, &["merge", "merged.json"], &[]);
    assert_eq!(code(&again), 1);
    assert!(
        stdout(&again).contains("shard 2/4 missing"),
        "{}",
        stdout(&again)
    );
}

#[test]
fn nondeterministic_seeds_of_the_shards_are_merged_and_fail() {
    let dir = scratch_dir("merge-nondeterministic");
    run_shards(&dir, 20, 2, &[]);
    // As if seed 3, which shard 1/2 ran, had given two digests.
    let path = dir.join("shard-1.json");
    let mut shard = read_json(&path);
    shard["nondeterministic"] = json!([3]);
    write_json(&path, &shard);
    let (exit, merged) = merge_json(&dir, &["shard-0.json", "shard-1.json"]);
    assert_eq!(exit, 1);
    assert_eq!(merged["nondeterministic"], json!([3]));
    let output = paxsim_in(&dir, &["merge", "."], &[]);
    let text = stdout(&output);
    assert!(text.contains("nondeterministic: 1"), "{text}");
    assert!(text.contains("replay: paxsim replay --seed 3"), "{text}");
    assert!(text.contains("result: FAIL (1 seeds)"), "{text}");
}

/// `paxsim merge FILES` exits 2 with a message containing every `needle`.
fn rejected(dir: &Path, files: &[&str], needles: &[&str]) {
    let mut args = vec!["merge"];
    args.extend(files);
    let output = paxsim_in(dir, &args, &[]);
    let message = stderr(&output);
    assert_eq!(code(&output), 2, "{files:?}: {message}{}", stdout(&output));
    for needle in needles {
        assert!(message.contains(needle), "{needle:?} in {message}");
    }
    assert!(!message.contains("panicked"), "{message}");
}

#[test]
fn bad_or_foreign_summaries_exit_2_naming_the_file_and_field() {
    let dir = scratch_dir("merge-bad");
    run_shards(&dir, 20, 2, &[]);
    let good = read_json(&dir.join("shard-0.json"));
    let variant = |name: &str, change: &dyn Fn(&mut Value)| {
        let mut value = good.clone();
        change(&mut value);
        write_json(&dir.join(name), &value);
    };
    std::fs::write(dir.join("torn.json"), "{\"seeds_run\": 3,\n  \"seed").unwrap();
    rejected(&dir, &["torn.json"], &["torn.json:2:"]);
    std::fs::write(dir.join("empty.json"), "").unwrap();
    rejected(&dir, &["empty.json"], &["empty.json", "empty"]);
    variant("old.json", &|v| {
        v.as_object_mut().unwrap().remove("seed_last");
    });
    rejected(&dir, &["old.json"], &["old.json", "seed_last"]);
    variant("typed.json", &|v| v["ops"]["invoked"] = json!("many"));
    rejected(&dir, &["typed.json"], &["typed.json", "ops.invoked"]);
    variant("shard.json", &|v| v["shard"] = json!("2/2"));
    rejected(&dir, &["shard.json"], &["shard.json", "shard", "2/2"]);
    variant("covered.json", &|v| v["covered"]["seeds"] = json!(3));
    rejected(&dir, &["covered.json"], &["covered.json", "covered"]);
    variant("seed.json", &|v| v["failures"] = json!([{"seed": 1}]));
    rejected(&dir, &["seed.json"], &["seed.json", "failures[0]"]);

    // Summaries of different campaigns.
    variant("start.json", &|v| {
        v["shard"] = json!("1/2");
        v["seed_start"] = json!(100);
        v["seed_last"] = json!(119);
        v["covered"]["first_seed"] = json!(101);
        v["not_covered"] = Value::Null;
    });
    rejected(
        &dir,
        &["shard-0.json", "start.json"],
        &["start.json", "seed_start is 100", "shard-0.json has 0"],
    );
    let other = paxsim_in(
        &dir,
        &[
            "fuzz",
            "--seeds",
            "20",
            "--shard",
            "1/2",
            "--nodes",
            "5",
            "--summary",
            "pinned.json",
        ],
        &[],
    );
    assert_eq!(code(&other), 0, "{}", stderr(&other));
    // Summaries are taken in file name order: pinned.json comes first.
    rejected(
        &dir,
        &["shard-0.json", "pinned.json"],
        &["shard-0.json: pins is none", "pinned.json has --nodes 5"],
    );
    let three = paxsim_in(
        &dir,
        &[
            "fuzz",
            "--seeds",
            "20",
            "--shard",
            "1/3",
            "--summary",
            "three.json",
        ],
        &[],
    );
    assert_eq!(code(&three), 0, "{}", stderr(&three));
    rejected(
        &dir,
        &["shard-0.json", "three.json"],
        &["three.json", "shard"],
    );
    std::fs::copy(dir.join("shard-1.json"), dir.join("again.json")).unwrap();
    rejected(
        &dir,
        &["shard-1.json", "again.json"],
        &["shard: 1/2 again", "shard-1.json"],
    );
    rejected(&dir, &["absent.json"], &["absent.json: no such file"]);
    std::fs::create_dir_all(dir.join("none")).unwrap();
    rejected(&dir, &["none"], &["none: no summaries"]);
}
