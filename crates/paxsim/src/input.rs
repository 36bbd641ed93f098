//! Reading scenario and seed-corpus files, with errors that say where.
//!
//! Syntax and type errors carry the file, line, column and the path of the
//! field (`scenarios/x.json:12:5: workload.clients: invalid type: ...`);
//! semantic errors carry the file and the field. Nothing here panics on
//! bad input.

use std::fs;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use sim::SimConfig;

use crate::corpus::CorpusFile;
use crate::error::InputError;
use crate::outcome::Expect;
use crate::scenario::Scenario;

/// One thing to run: a scenario, or one corpus entry.
#[derive(Clone, Debug)]
pub struct Entry {
    pub file: String,
    pub name: String,
    pub expect: Expect,
    /// Probes the run must hit at least once.
    pub expect_probes: Vec<&'static str>,
    pub config: SimConfig,
    /// The command that replays the entry on its own.
    pub replay: String,
}

/// The files `paths` stand for: files as given, directories as their
/// `*.json` files; sorted, without repeats. `what` names the files a
/// directory should hold, for the error when it holds none.
pub fn expand(paths: &[PathBuf], what: &str) -> Result<Vec<PathBuf>, InputError> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let found = json_files_in(path)?;
            if found.is_empty() {
                return Err(InputError(format!(
                    "{}: no {what} (*.json) in this directory",
                    path.display()
                )));
            }
            files.extend(found);
        } else if path.is_file() {
            files.push(path.clone());
        } else {
            return Err(InputError(format!(
                "{}: no such file or directory",
                path.display()
            )));
        }
    }
    files.sort();
    files.dedup();
    Ok(files)
}

fn json_files_in(dir: &Path) -> Result<Vec<PathBuf>, InputError> {
    let read_error = |error: std::io::Error| InputError(format!("{}: {error}", dir.display()));
    let mut files = Vec::new();
    for item in fs::read_dir(dir).map_err(read_error)? {
        let path = item.map_err(read_error)?.path();
        if path.is_file()
            && path
                .extension()
                .is_some_and(|extension| extension == "json")
        {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// The entries of one scenario or corpus file, each checked.
pub fn load(path: &Path) -> Result<Vec<Entry>, InputError> {
    let file = path.display().to_string();
    let text = fs::read_to_string(path).map_err(|error| InputError(format!("{file}: {error}")))?;
    if text.trim().is_empty() {
        return Err(InputError(format!(
            "{file}: the file is empty, expected a scenario object or a seed corpus {{\"entries\": [...]}}"
        )));
    }
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|error| syntax_error(&file, &error))?;
    let Some(object) = value.as_object() else {
        return Err(InputError(format!(
            "{file}: expected a JSON object (a scenario) or {{\"entries\": [...]}} (a seed corpus)"
        )));
    };
    if object.contains_key("entries") {
        let corpus: CorpusFile = parse(&file, &text)?;
        corpus_entries(&file, corpus)
    } else {
        let scenario: Scenario = parse(&file, &text)?;
        let config = scenario
            .to_config()
            .map_err(|error| InputError(format!("{file}: {error}")))?;
        Ok(vec![Entry {
            replay: format!("paxsim replay --scenario {file}"),
            file,
            name: scenario.name,
            expect: scenario.expect,
            expect_probes: scenario.expect_probes.iter().map(|probe| probe.0).collect(),
            config,
        }])
    }
}

/// The configuration of one scenario file.
pub fn load_scenario_config(path: &Path) -> Result<SimConfig, InputError> {
    let file = path.display().to_string();
    let text = fs::read_to_string(path).map_err(|error| InputError(format!("{file}: {error}")))?;
    let scenario: Scenario = parse(&file, &text)?;
    scenario
        .to_config()
        .map_err(|error| InputError(format!("{file}: {error}")))
}

fn corpus_entries(file: &str, corpus: CorpusFile) -> Result<Vec<Entry>, InputError> {
    if corpus.entries.is_empty() {
        return Err(InputError(format!(
            "{file}: entries is empty, expected at least one entry"
        )));
    }
    corpus
        .entries
        .into_iter()
        .enumerate()
        .map(|(index, entry)| {
            let config = entry
                .pins()
                .draw_checked(entry.seed)
                .map_err(|error| InputError(format!("{file}: entries[{index}].pins: {error}")))?;
            Ok(Entry {
                replay: crate::summary::replay_command(entry.seed, &entry.pins()),
                file: file.to_string(),
                name: entry.display_name(),
                expect: entry.expect,
                expect_probes: Vec::new(),
                config,
            })
        })
        .collect()
}

/// Parse `text` as a `T`; an error names the file, line, column and field.
pub fn parse<T: DeserializeOwned>(file: &str, text: &str) -> Result<T, InputError> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let value: T = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        let place = position(file, &inner);
        let field = if path == "." {
            String::new()
        } else {
            format!("{path}: ")
        };
        InputError(format!("{place}: {field}{}", message_of(&inner)))
    })?;
    deserializer
        .end()
        .map_err(|error| syntax_error(file, &error))?;
    Ok(value)
}

/// A JSON syntax error as `file:line:column: message`.
pub fn syntax_error(file: &str, error: &serde_json::Error) -> InputError {
    InputError(format!("{}: {}", position(file, error), message_of(error)))
}

/// `file:line:column`, or just the file when serde_json knows no position.
fn position(file: &str, error: &serde_json::Error) -> String {
    if error.line() == 0 {
        file.to_string()
    } else {
        format!("{file}:{}:{}", error.line(), error.column())
    }
}

/// serde_json's message without its own ` at line L column C` suffix.
fn message_of(error: &serde_json::Error) -> String {
    let text = error.to_string();
    let suffix = format!(" at line {} column {}", error.line(), error.column());
    text.strip_suffix(&suffix).unwrap_or(&text).to_string()
}
