//! Two versions of a definition side by side: what was approved or is served, and what it
//! would become.

use maud::{Markup, html};
use serde_json::Value;
use similar::{DiffTag, TextDiff};

/// Two definitions, each under its heading, line by line as pretty JSON, changes marked (and
/// named for screen readers).
pub fn side_by_side((old_label, old): (&str, &Value), (new_label, new): (&str, &Value)) -> Markup {
    let old = serde_json::to_string_pretty(old).unwrap_or_default();
    let new = serde_json::to_string_pretty(new).unwrap_or_default();
    let diff = TextDiff::from_lines(&old, &new);
    let old_lines: Vec<&str> = old.lines().collect();
    let new_lines: Vec<&str> = new.lines().collect();
    let mut rows: Vec<(Option<&str>, Option<&str>, DiffTag)> = Vec::new();
    for op in diff.ops() {
        let (tag, a, b) = op.as_tag_tuple();
        let left = &old_lines[a.start.min(old_lines.len())..a.end.min(old_lines.len())];
        let right = &new_lines[b.start.min(new_lines.len())..b.end.min(new_lines.len())];
        for i in 0..left.len().max(right.len()) {
            rows.push((left.get(i).copied(), right.get(i).copied(), tag));
        }
    }
    let cell = |line: Option<&str>, side: &str, tag: DiffTag| {
        let class = match (tag, line.is_some()) {
            (DiffTag::Equal, _) | (_, false) => "",
            _ if side == "old" => "del",
            _ => "ins",
        };
        html! {
            td class=(class) {
                @if class == "del" { span.visually-hidden { "removed: " } }
                @if class == "ins" { span.visually-hidden { "added: " } }
                (line.unwrap_or(""))
            }
        }
    };
    html! {
        table.diff {
            thead { tr { th scope="col" { (old_label) } th scope="col" { (new_label) } } }
            tbody {
                @for (left, right, tag) in rows {
                    tr { (cell(left, "old", tag)) (cell(right, "new", tag)) }
                }
            }
        }
    }
}
