//! Timeline pages of runs worth looking at: a configuration run once more
//! with the timeline recorded (which never alters the run), given its
//! title and the command that reproduces it, rendered (`html`) and written
//! whole or not at all (`atomic`).

use std::path::{Path, PathBuf};

use sim::timeline::Timeline;
use sim::{Pins, RunOptions, SimConfig, Simulation};

use crate::atomic;
use crate::guarded;
use crate::html;
use crate::summary;

/// `fuzz --out`: the page of a failing seed, beside its failure file
/// (`NAME.json` -> `NAME.html`).
pub fn beside_failure(
    failure_file: &Path,
    seed: u64,
    pins: &Pins,
    label: &str,
) -> Result<PathBuf, String> {
    let path = failure_file.with_extension("html");
    let command = summary::replay_command(seed, pins);
    let title = format!(
        "{}: {label}",
        command.trim_start_matches("paxsim replay --")
    );
    let config = guarded::catch(|| SimConfig::draw(seed, pins))
        .map_err(|panic| format!("cannot write {}: {panic}", path.display()))?;
    write_run(&path, &config, &title, &command)?;
    Ok(path)
}

/// Run `config` with its timeline recorded and write the page to `path`.
pub fn write_run(
    path: &Path,
    config: &SimConfig,
    title: &str,
    command: &str,
) -> Result<(), String> {
    let config = config.clone();
    let options = RunOptions {
        timeline: true,
        ..RunOptions::default()
    };
    let report = guarded::catch(move || Simulation::new(config, options).map(Simulation::run))
        .map_err(|panic| format!("cannot write {}: the run panicked: {panic}", path.display()))?
        .map_err(|invalid| format!("cannot write {}: configuration: {invalid}", path.display()))?;
    let timeline = report.timeline.expect("the timeline was asked for");
    write(path, timeline, title, command)
}

/// Write `timeline`'s page to `path`, with its title and command.
pub fn write(
    path: &Path,
    mut timeline: Timeline,
    title: &str,
    command: &str,
) -> Result<(), String> {
    timeline.title = title.to_string();
    timeline.command = command.to_string();
    atomic::write(path, html::render(&timeline).as_bytes())
}

/// `dir/NAME.html` for a page named `name`, in letters, digits and dashes,
/// numbered if `taken` already holds that file.
pub fn path_in(dir: &Path, name: &str, taken: &[PathBuf]) -> PathBuf {
    let mut stem: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    while stem.contains("--") {
        stem = stem.replace("--", "-");
    }
    let stem = stem.trim_matches('-');
    let stem = if stem.is_empty() { "run" } else { stem };
    let mut path = dir.join(format!("{stem}.html"));
    let mut number = 2;
    while taken.contains(&path) {
        path = dir.join(format!("{stem}-{number}.html"));
        number += 1;
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_names_are_plain_and_unique() {
        let dir = Path::new("out");
        let first = path_in(dir, "seed 17 --flaw no-client-dedup", &[]);
        assert_eq!(first, dir.join("seed-17-flaw-no-client-dedup.html"));
        let second = path_in(
            dir,
            "seed 17 --flaw no-client-dedup",
            std::slice::from_ref(&first),
        );
        assert_eq!(second, dir.join("seed-17-flaw-no-client-dedup-2.html"));
        assert_eq!(path_in(dir, "../..", &[]), dir.join("run.html"));
    }
}
