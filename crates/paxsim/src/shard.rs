//! Where a campaign's shard comes from: `--shard K/N`, or `--shard auto`,
//! which reads it from the environment the CI job already runs in.
//!
//! Each provider numbers its parallel jobs its own way; the bases below are
//! those the providers document:
//!
//! | provider | index | base | count |
//! | --- | --- | --- | --- |
//! | GitLab (`parallel:`) | `CI_NODE_INDEX` | 1 | `CI_NODE_TOTAL` (1 in a job without `parallel:`, which has no index) |
//! | Buildkite (`parallelism:`) | `BUILDKITE_PARALLEL_JOB` | 0 | `BUILDKITE_PARALLEL_JOB_COUNT` |
//! | CircleCI (`parallelism:`) | `CIRCLE_NODE_INDEX` | 0 | `CIRCLE_NODE_TOTAL` |
//! | Kubernetes Indexed Job | `JOB_COMPLETION_INDEX` | 0 | `--shard-count N` (the Job's `completions`) |
//!
//! Nothing is guessed: a variable that is set but malformed, an index out
//! of its range, a count that disagrees with `--shard-count`, or the
//! variables of two providers at once is an error naming the variables.
//! The environment is read through a lookup function, so that tests can
//! hand in one of their own.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::units::Shard;

/// Where the shard came from, recorded in the summary as
/// `{"from": "gitlab", "variables": {"CI_NODE_INDEX": "2", ...}}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardSource {
    /// `default` (no `--shard`), `flag`, or a provider: `gitlab`,
    /// `buildkite`, `circleci`, `kubernetes`; `merge` for a merged summary.
    pub from: String,
    /// The variables read, as they were set.
    pub variables: BTreeMap<String, String>,
}

impl ShardSource {
    pub fn new(from: &str) -> ShardSource {
        ShardSource {
            from: from.to_string(),
            variables: BTreeMap::new(),
        }
    }

    /// `from GitLab (CI_NODE_INDEX=2 CI_NODE_TOTAL=4)`, `from --shard`, ...
    pub fn describe(&self) -> String {
        let name = PROVIDERS
            .iter()
            .find(|provider| provider.id == self.from)
            .map_or(self.from.as_str(), |provider| provider.name);
        match self.from.as_str() {
            "flag" => "from --shard".into(),
            "default" => "the whole range".into(),
            _ if self.variables.is_empty() => format!("from {name}"),
            _ => {
                let variables: Vec<String> = self
                    .variables
                    .iter()
                    .map(|(variable, value)| format!("{variable}={value}"))
                    .collect();
                format!("from {name} ({})", variables.join(" "))
            }
        }
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("a shard source always serializes")
    }
}

/// One provider's pair of variables.
struct Provider {
    id: &'static str,
    name: &'static str,
    index: &'static str,
    /// `None`: the count comes from `--shard-count` (Kubernetes).
    count: Option<&'static str>,
    /// 1 for GitLab, whose jobs are numbered 1..=N; 0 for the others.
    index_base: u64,
}

const PROVIDERS: &[Provider] = &[
    Provider {
        id: "gitlab",
        name: "GitLab",
        index: "CI_NODE_INDEX",
        count: Some("CI_NODE_TOTAL"),
        index_base: 1,
    },
    Provider {
        id: "buildkite",
        name: "Buildkite",
        index: "BUILDKITE_PARALLEL_JOB",
        count: Some("BUILDKITE_PARALLEL_JOB_COUNT"),
        index_base: 0,
    },
    Provider {
        id: "circleci",
        name: "CircleCI",
        index: "CIRCLE_NODE_INDEX",
        count: Some("CIRCLE_NODE_TOTAL"),
        index_base: 0,
    },
    Provider {
        id: "kubernetes",
        name: "a Kubernetes Indexed Job",
        index: "JOB_COMPLETION_INDEX",
        count: None,
        index_base: 0,
    },
];

/// Every variable `--shard auto` reads, for the error when none is set.
pub fn variables_read() -> String {
    let pairs: Vec<String> = PROVIDERS
        .iter()
        .map(|provider| match provider.count {
            Some(count) => format!("{}/{count} ({})", provider.index, provider.name),
            None => format!(
                "{} with --shard-count N ({})",
                provider.index, provider.name
            ),
        })
        .collect();
    pairs.join(", ")
}

/// The shard `--shard auto` stands for, read through `lookup` (the process
/// environment, or a test's). `shard_count` is `--shard-count`.
pub fn from_env(
    lookup: &dyn Fn(&str) -> Option<String>,
    shard_count: Option<u64>,
) -> Result<(Shard, ShardSource), String> {
    if shard_count == Some(0) {
        return Err(
            "--shard-count 0 would split the seeds into no shard, expected at least 1".into(),
        );
    }
    let present: Vec<&Provider> = PROVIDERS
        .iter()
        .filter(|provider| {
            lookup(provider.index).is_some() || provider.count.is_some_and(|c| lookup(c).is_some())
        })
        .collect();
    match present.as_slice() {
        [] => Err(format!(
            "--shard auto found none of the variables it reads: {}; pass --shard K/N instead",
            variables_read()
        )),
        [provider] => from_provider(provider, lookup, shard_count),
        several => {
            let names: Vec<String> = several
                .iter()
                .map(|provider| {
                    let set: Vec<String> = std::iter::once(provider.index)
                        .chain(provider.count)
                        .filter_map(|name| lookup(name).map(|value| format!("{name}={value}")))
                        .collect();
                    format!("{} ({})", provider.name, set.join(" "))
                })
                .collect();
            Err(format!(
                "--shard auto found the variables of more than one provider: {}; \
                 pass --shard K/N to say which shard this is",
                names.join(" and ")
            ))
        }
    }
}

fn from_provider(
    provider: &Provider,
    lookup: &dyn Fn(&str) -> Option<String>,
    shard_count: Option<u64>,
) -> Result<(Shard, ShardSource), String> {
    let mut source = ShardSource::new(provider.id);
    let mut read = |name: &'static str| {
        let value = lookup(name);
        if let Some(value) = &value {
            source.variables.insert(name.to_string(), value.clone());
        }
        value
    };
    let index_text = read(provider.index);
    let count = match provider.count {
        Some(count_name) => {
            let text = read(count_name).ok_or_else(|| {
                format!(
                    "{}={} is set but {count_name} is not: {} sets both",
                    provider.index,
                    index_text.clone().unwrap_or_default(),
                    provider.name
                )
            })?;
            let count = parse_number(count_name, &text, "a job count of at least 1")?;
            if count == 0 {
                return Err(format!(
                    "{count_name}={text}: expected a job count of at least 1"
                ));
            }
            if let Some(flag) = shard_count.filter(|flag| *flag != count) {
                return Err(format!(
                    "--shard-count {flag} disagrees with {count_name}={text}: \
                     leave --shard-count out, or make them equal"
                ));
            }
            count
        }
        None => shard_count.ok_or_else(|| {
            format!(
                "{}={} is set ({}) but the shard count is not: pass --shard-count N, \
                 the Job's spec.completions",
                provider.index,
                index_text.clone().unwrap_or_default(),
                provider.name
            )
        })?,
    };
    let Some(index_text) = index_text else {
        // GitLab sets CI_NODE_TOTAL=1 in a job without `parallel:`, and no index.
        let count_name = provider
            .count
            .expect("only a provider with a count variable");
        if count == 1 {
            return Ok((Shard::ALL, source));
        }
        return Err(format!(
            "{count_name}={count} is set but {} is not: {} sets both in a parallel job",
            provider.index, provider.name
        ));
    };
    let first = provider.index_base;
    let last = count - 1 + first;
    let range = format!("{first}..={last}");
    let expected = format!("{}'s job index, {range}", provider.name);
    let index = parse_number(provider.index, &index_text, &expected)?;
    if !(first..=last).contains(&index) {
        let base_note = if first == 1 {
            format!(" ({} numbers its jobs from 1)", provider.name)
        } else {
            String::new()
        };
        return Err(format!(
            "{}={index_text} is out of range: with {count} jobs it runs {range}{base_note}",
            provider.index
        ));
    }
    Ok((
        Shard {
            index: index - first,
            count,
        },
        source,
    ))
}

fn parse_number(name: &str, text: &str, expected: &str) -> Result<u64, String> {
    text.parse::<u64>()
        .map_err(|_| format!("{name}={text:?} is not a number, expected {expected}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(vars: &[(&str, &str)], count: Option<u64>) -> Result<(Shard, ShardSource), String> {
        let lookup = |name: &str| {
            vars.iter()
                .find(|(var, _)| *var == name)
                .map(|(_, value)| value.to_string())
        };
        from_env(&lookup, count)
    }

    fn shard(vars: &[(&str, &str)], count: Option<u64>) -> Shard {
        resolve(vars, count).unwrap().0
    }

    #[test]
    fn gitlab_numbers_its_jobs_from_one() {
        let vars = |index| [("CI_NODE_INDEX", index), ("CI_NODE_TOTAL", "4")];
        assert_eq!(shard(&vars("1"), None), Shard { index: 0, count: 4 });
        assert_eq!(shard(&vars("4"), None), Shard { index: 3, count: 4 });
        let error = resolve(&vars("0"), None).unwrap_err();
        assert!(
            error.contains("CI_NODE_INDEX=0") && error.contains("from 1"),
            "{error}"
        );
        let error = resolve(&vars("5"), None).unwrap_err();
        assert!(error.contains("1..=4"), "{error}");
        // A job without `parallel:` has CI_NODE_TOTAL=1 and no index.
        assert_eq!(shard(&[("CI_NODE_TOTAL", "1")], None), Shard::ALL);
        let error = resolve(&[("CI_NODE_TOTAL", "3")], None).unwrap_err();
        assert!(error.contains("CI_NODE_INDEX"), "{error}");
        let (_, source) = resolve(&vars("2"), None).unwrap();
        assert_eq!(source.from, "gitlab");
        assert_eq!(
            source.describe(),
            "from GitLab (CI_NODE_INDEX=2 CI_NODE_TOTAL=4)"
        );
    }

    #[test]
    fn buildkite_and_circleci_number_their_jobs_from_zero() {
        let buildkite = [
            ("BUILDKITE_PARALLEL_JOB", "0"),
            ("BUILDKITE_PARALLEL_JOB_COUNT", "3"),
        ];
        assert_eq!(shard(&buildkite, None), Shard { index: 0, count: 3 });
        let circle = [("CIRCLE_NODE_INDEX", "2"), ("CIRCLE_NODE_TOTAL", "3")];
        assert_eq!(shard(&circle, None), Shard { index: 2, count: 3 });
        let circle = [("CIRCLE_NODE_INDEX", "3"), ("CIRCLE_NODE_TOTAL", "3")];
        let error = resolve(&circle, None).unwrap_err();
        assert!(
            error.contains("CIRCLE_NODE_INDEX=3") && error.contains("0..=2"),
            "{error}"
        );
        let lone = resolve(&[("BUILDKITE_PARALLEL_JOB", "1")], None).unwrap_err();
        assert!(lone.contains("BUILDKITE_PARALLEL_JOB_COUNT"), "{lone}");
    }

    #[test]
    fn kubernetes_takes_its_count_from_the_flag() {
        let vars = [("JOB_COMPLETION_INDEX", "3")];
        assert_eq!(shard(&vars, Some(8)), Shard { index: 3, count: 8 });
        let error = resolve(&vars, None).unwrap_err();
        assert!(
            error.contains("JOB_COMPLETION_INDEX=3") && error.contains("--shard-count"),
            "{error}"
        );
        let error = resolve(&vars, Some(3)).unwrap_err();
        assert!(error.contains("0..=2"), "{error}");
    }

    #[test]
    fn malformed_missing_and_conflicting_values_are_named() {
        let error = resolve(
            &[("CIRCLE_NODE_INDEX", "x"), ("CIRCLE_NODE_TOTAL", "2")],
            None,
        )
        .unwrap_err();
        assert!(error.contains("CIRCLE_NODE_INDEX=\"x\""), "{error}");
        let error = resolve(
            &[("CIRCLE_NODE_INDEX", "0"), ("CIRCLE_NODE_TOTAL", "")],
            None,
        )
        .unwrap_err();
        assert!(error.contains("CIRCLE_NODE_TOTAL=\"\""), "{error}");
        let error = resolve(
            &[("CIRCLE_NODE_INDEX", "0"), ("CIRCLE_NODE_TOTAL", "0")],
            None,
        )
        .unwrap_err();
        assert!(error.contains("CIRCLE_NODE_TOTAL=0"), "{error}");
        let error = resolve(
            &[("CIRCLE_NODE_INDEX", "0"), ("CIRCLE_NODE_TOTAL", "2")],
            Some(4),
        )
        .unwrap_err();
        assert!(
            error.contains("--shard-count 4") && error.contains("CIRCLE_NODE_TOTAL=2"),
            "{error}"
        );
        let error = resolve(
            &[("JOB_COMPLETION_INDEX", "0"), ("CI_NODE_TOTAL", "1")],
            Some(2),
        )
        .unwrap_err();
        assert!(
            error.contains("JOB_COMPLETION_INDEX=0") && error.contains("CI_NODE_TOTAL=1"),
            "{error}"
        );
        let error = resolve(&[], None).unwrap_err();
        for variable in [
            "CI_NODE_INDEX",
            "CI_NODE_TOTAL",
            "BUILDKITE_PARALLEL_JOB",
            "BUILDKITE_PARALLEL_JOB_COUNT",
            "CIRCLE_NODE_INDEX",
            "CIRCLE_NODE_TOTAL",
            "JOB_COMPLETION_INDEX",
        ] {
            assert!(error.contains(variable), "{variable} in {error}");
        }
    }
}
