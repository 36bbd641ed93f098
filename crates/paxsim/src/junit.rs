//! A campaign's result as JUnit XML, the report format GitHub (through an
//! action), GitLab (`artifacts:reports:junit`), Jenkins and Buildkite show.
//!
//! Made from the summary (`summary_file::SummaryFile`), so `fuzz --junit`
//! and `merge --junit` say the same things. One `<testsuite>` with:
//! - a failing test case per failing seed, named `seed 17: linearizability`:
//!   the failure's message is the invariant and the report's headline, its
//!   body the whole report and the commands that replay and shrink it; a
//!   nondeterministic seed is one too;
//! - a passing test case per shard that ran clean, named `shard K/N`;
//! - an error test case per shard that was interrupted, or whose summary
//!   was missing from a merge, saying which seeds did not run.
//!
//! Every string is escaped; characters XML 1.0 cannot hold at all (most
//! control characters) are written as `\u{..}` instead, so the file is
//! always well-formed, whatever a report contains.

use std::fmt::Write;

use crate::summary;
use crate::summary_file::{FailureRecord, ShardRecord, SummaryFile};

const CLASS: &str = "paxsim.fuzz";

/// One test case, before it is written.
struct Case {
    name: String,
    /// `failure` or `error`, with its type, message and body; `None`: passed.
    outcome: Option<(&'static str, String, String, String)>,
    output: String,
}

/// The JUnit XML document for a summary.
pub fn render(summary: &SummaryFile) -> String {
    let mut cases: Vec<Case> = summary.failures.iter().map(failure_case).collect();
    let pins = summary.all_pins();
    for seed in &summary.nondeterministic {
        cases.push(Case {
            name: format!("seed {seed}: nondeterministic"),
            outcome: Some((
                "failure",
                "nondeterministic".into(),
                format!("nondeterministic: two runs of seed {seed} gave different digests"),
                format!("replay: {}", summary::replay_command(*seed, &pins)),
            )),
            output: String::new(),
        });
    }
    cases.extend(
        summary
            .shard_records()
            .iter()
            .filter_map(|record| shard_case(summary, record)),
    );
    let count = |kind: &str| {
        cases
            .iter()
            .filter(|case| case.outcome.as_ref().is_some_and(|o| o.0 == kind))
            .count()
    };
    let (failures, errors) = (count("failure"), count("error"));
    let suite_name = if summary.merged.is_some() {
        "paxsim merge"
    } else {
        "paxsim fuzz"
    };
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let totals = format!(
        "tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"0\" time=\"{:.3}\"",
        cases.len(),
        summary.elapsed_s
    );
    let _ = writeln!(xml, "<testsuites name=\"paxsim\" {totals}>");
    let _ = writeln!(xml, "  <testsuite name=\"{suite_name}\" {totals}>");
    write_properties(&mut xml, summary);
    for case in &cases {
        write_case(&mut xml, case);
    }
    if !summary.warnings.is_empty() {
        let _ = writeln!(
            xml,
            "    <system-err>{}</system-err>",
            text(&summary.warnings.join("\n"))
        );
    }
    xml.push_str("  </testsuite>\n</testsuites>\n");
    xml
}

fn failure_case(failure: &FailureRecord) -> Case {
    let location = failure.location();
    let first_line = failure.message.lines().next().unwrap_or_default();
    let headline = if location.is_empty() {
        format!("{}: {first_line}", failure.invariant)
    } else {
        format!("{} {location}: {first_line}", failure.invariant)
    };
    let body = format!(
        "{}\nreplay: {}\nshrink: {}",
        failure.message, failure.replay, failure.shrink
    );
    Case {
        name: format!("seed {}: {}", failure.seed, failure.invariant),
        outcome: Some(("failure", failure.invariant.clone(), headline, body)),
        output: String::new(),
    }
}

/// The case of one shard: passing if it ran clean, an error if it was
/// interrupted or missing, none if its failures already stand for it.
fn shard_case(summary: &SummaryFile, record: &ShardRecord) -> Option<Case> {
    let name = format!("shard {}", record.shard);
    let not_run = record
        .not_covered
        .map_or("none".into(), |seeds| seeds.describe());
    let missing = summary.merged.is_some() && record.file.is_none();
    if missing {
        return Some(Case {
            name,
            outcome: Some((
                "error",
                "missing".into(),
                format!(
                    "shard {}: no summary was merged; not run: {not_run}",
                    record.shard
                ),
                String::new(),
            )),
            output: String::new(),
        });
    }
    if let Some(signal) = &record.signal {
        return Some(Case {
            name,
            outcome: Some((
                "error",
                "interrupted".into(),
                format!(
                    "shard {} interrupted by {signal} after {} seeds; not run: {not_run}",
                    record.shard, record.seeds_run
                ),
                String::new(),
            )),
            output: String::new(),
        });
    }
    let in_shard = |seed: u64| {
        seed.checked_sub(summary.seed_start)
            .is_some_and(|index| index % record.shard.count == record.shard.index)
    };
    let failed = summary
        .failures
        .iter()
        .any(|failure| in_shard(failure.seed))
        || summary.nondeterministic.iter().copied().any(in_shard);
    if failed {
        return None;
    }
    let mut output = format!("{} seeds ran and passed", record.seeds_run);
    if summary.seed_last.is_some() && record.not_covered.is_some() {
        output.push_str(&format!("; stopped at its --duration, not run: {not_run}"));
    }
    Some(Case {
        name,
        outcome: None,
        output,
    })
}

fn write_properties(xml: &mut String, summary: &SummaryFile) {
    let show = |value: Option<u64>| value.map_or("null".into(), |value| value.to_string());
    let properties = [
        ("seed_start", summary.seed_start.to_string()),
        ("seed_last", show(summary.seed_last)),
        ("shard", summary.shard.to_string()),
        ("seeds_run", summary.seeds_run.to_string()),
        ("seeds_planned", show(summary.seeds_planned)),
        ("pins", crate::pins::describe(&summary.all_pins())),
    ];
    xml.push_str("    <properties>\n");
    for (name, value) in properties {
        let _ = writeln!(
            xml,
            "      <property name=\"{name}\" value=\"{}\"/>",
            attribute(&value)
        );
    }
    xml.push_str("    </properties>\n");
}

fn write_case(xml: &mut String, case: &Case) {
    let _ = write!(
        xml,
        "    <testcase classname=\"{CLASS}\" name=\"{}\"",
        attribute(&case.name)
    );
    if case.outcome.is_none() && case.output.is_empty() {
        xml.push_str("/>\n");
        return;
    }
    xml.push_str(">\n");
    if let Some((element, kind, message, body)) = &case.outcome {
        let _ = writeln!(
            xml,
            "      <{element} type=\"{}\" message=\"{}\">{}</{element}>",
            attribute(kind),
            attribute(message),
            text(body)
        );
    }
    if !case.output.is_empty() {
        let _ = writeln!(xml, "      <system-out>{}</system-out>", text(&case.output));
    }
    xml.push_str("    </testcase>\n");
}

/// Whether XML 1.0 can hold `c` at all (its `Char` production).
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

fn escape(value: &str, in_attribute: bool) -> String {
    let mut escaped = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' if in_attribute => escaped.push_str("&quot;"),
            '\'' if in_attribute => escaped.push_str("&apos;"),
            // A parser turns raw whitespace in an attribute into spaces.
            '\n' if in_attribute => escaped.push_str("&#10;"),
            '\t' if in_attribute => escaped.push_str("&#9;"),
            // A parser turns a raw carriage return into a line feed.
            '\r' => escaped.push_str("&#13;"),
            c if is_xml_char(c) => escaped.push(c),
            c => {
                let _ = write!(escaped, "\\u{{{:x}}}", u32::from(c));
            }
        }
    }
    escaped
}

fn text(value: &str) -> String {
    escape(value, false)
}

fn attribute(value: &str) -> String {
    escape(value, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE: &str = "a</failure><x y=\"1\">&amp; ]]> <!-- 'q' \"dq\"\n\ttab\r\0nul \u{1b}[31m \u{FFFE} \u{7f} é 🦀";

    /// What a parser gives back for HOSTILE: the same text, with the
    /// characters XML cannot hold written out.
    fn expected() -> String {
        HOSTILE
            .replace('\0', "\\u{0}")
            .replace('\u{1b}', "\\u{1b}")
            .replace('\u{FFFE}', "\\u{fffe}")
    }

    #[test]
    fn hostile_text_survives_in_text_and_attributes() {
        let xml = format!("<r a=\"{}\">{}</r>", attribute(HOSTILE), text(HOSTILE));
        let document = roxmltree::Document::parse(&xml).expect("well-formed");
        let root = document.root_element();
        assert_eq!(root.attribute("a"), Some(expected().as_str()));
        assert_eq!(root.text(), Some(expected().as_str()));
        assert_eq!(root.children().count(), 1, "no element was injected");
    }

    #[test]
    fn xml_chars_are_those_of_the_standard() {
        assert!(is_xml_char('\t') && is_xml_char('\n') && is_xml_char('\r'));
        assert!(!is_xml_char('\0') && !is_xml_char('\u{1f}'));
        assert!(is_xml_char(' ') && is_xml_char('\u{D7FF}') && is_xml_char('\u{E000}'));
        assert!(!is_xml_char('\u{FFFE}') && !is_xml_char('\u{FFFF}'));
        assert!(is_xml_char('\u{10000}') && is_xml_char('\u{10FFFF}'));
    }
}
