//! The timeline page: one self-contained HTML file for a run, with its CSS,
//! JavaScript and the timeline's JSON inline, so it works offline and as a
//! CI artifact. No network, no CDN.
//!
//! This file only assembles the page and embeds the data safely. What the
//! page looks like and does lives in `assets/`: `timeline.html` (the
//! skeleton), `timeline.css`, `timeline.js` (the drawing: lanes, spans,
//! messages, operations, the violation), `controls.js` (zoom, pan, filters,
//! selection, details, legend) and `linearizability.js` (a linearizability
//! failure drawn the way Porcupine draws one).

use sim::timeline::Timeline;

const TEMPLATE: &str = include_str!("../assets/timeline.html");
const STYLE: &str = include_str!("../assets/timeline.css");
const LINEARIZABILITY_SCRIPT: &str = include_str!("../assets/linearizability.js");
const TIMELINE_SCRIPT: &str = include_str!("../assets/timeline.js");
const CONTROLS_SCRIPT: &str = include_str!("../assets/controls.js");

/// Where the template takes the style, the scripts and the data, in order.
const STYLE_MARKER: &str = "/*@style*/";
const SCRIPT_MARKER: &str = "/*@script*/";
const DATA_MARKER: &str = "/*@data*/";

/// The page for `timeline`.
///
/// Panics if the timeline is inconsistent ([`Timeline::validate`]): the
/// simulator builds it, so an inconsistent one is a bug, not bad input.
pub fn render(timeline: &Timeline) -> String {
    if let Err(error) = timeline.validate() {
        panic!("the timeline to render is inconsistent: {error}");
    }
    let data = script_safe_json(timeline);
    let (head, rest) = split_at_marker(TEMPLATE, STYLE_MARKER);
    let (middle, rest) = split_at_marker(rest, SCRIPT_MARKER);
    let (data_before, tail) = split_at_marker(rest, DATA_MARKER);
    let mut page = String::with_capacity(
        TEMPLATE.len()
            + STYLE.len()
            + LINEARIZABILITY_SCRIPT.len()
            + TIMELINE_SCRIPT.len()
            + CONTROLS_SCRIPT.len()
            + data.len(),
    );
    page.push_str(head);
    page.push_str(STYLE);
    page.push_str(middle);
    page.push_str(LINEARIZABILITY_SCRIPT);
    page.push_str(TIMELINE_SCRIPT);
    page.push_str(CONTROLS_SCRIPT);
    page.push_str(data_before);
    page.push_str(&data);
    page.push_str(tail);
    page
}

/// The timeline as JSON that can sit inside a `<script>` element. JSON only
/// has `<`, `>` and `&` inside strings, where `\u003c`, `\u003e` and
/// `\u0026` read back as the same characters; without them no value can
/// close the element (`</script>`) or open a comment (`<!--`).
pub fn script_safe_json(timeline: &Timeline) -> String {
    let json = serde_json::to_string(timeline).expect("a timeline serializes to JSON");
    let mut safe = String::with_capacity(json.len() + json.len() / 64);
    for character in json.chars() {
        match character {
            '<' => safe.push_str("\\u003c"),
            '>' => safe.push_str("\\u003e"),
            '&' => safe.push_str("\\u0026"),
            other => safe.push(other),
        }
    }
    assert!(!safe.contains('<'), "no `<` is left to open a tag");
    safe
}

/// `text` before and after the one occurrence of `marker`.
fn split_at_marker<'a>(text: &'a str, marker: &str) -> (&'a str, &'a str) {
    let (before, after) = text
        .split_once(marker)
        .unwrap_or_else(|| panic!("the page template has no {marker}"));
    assert!(
        !after.contains(marker),
        "the page template has {marker} twice"
    );
    (before, after)
}
