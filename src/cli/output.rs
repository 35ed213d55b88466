//! How an answer is shown: as JSON for scripts (`--json`), else for people — a list as a table
//! of its most telling columns, one object as `key: value` lines.

use serde_json::Value;

/// Columns a table shows at most.
const MAX_COLUMNS: usize = 6;
/// Characters a cell shows at most.
const MAX_CELL: usize = 48;
/// Fields that come first in a table, in this order.
const FIRST: &[&str] = &["name", "slug", "label", "email", "status", "role", "enabled", "isEnabled"];

/// The text to print for `body`.
pub fn render(body: &Value, json: bool) -> String {
    if json {
        return serde_json::to_string_pretty(body).unwrap_or_default();
    }
    match body {
        Value::Null => "Done.".to_string(),
        Value::Array(rows) => table(rows, None),
        Value::Object(map) => {
            let lists: Vec<(&String, &Value)> = map.iter().filter(|(_, v)| v.is_array()).collect();
            match (map.len(), lists.as_slice()) {
                (1, [(name, Value::Array(rows))]) => table(rows, Some(&id_of_list(name))),
                (1, _) => match map.values().next() {
                    Some(inner @ Value::Object(_)) => lines(inner),
                    _ => lines(body),
                },
                _ => lines(body),
            }
        }
        other => cell(other),
    }
}

fn cell(v: &Value) -> String {
    let text = match v {
        Value::Null => "—".to_string(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(cell).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    };
    let text = text.replace(['\n', '\t'], " ");
    if text.chars().count() > MAX_CELL {
        format!("{}…", text.chars().take(MAX_CELL - 1).collect::<String>())
    } else {
        text
    }
}

fn lines(v: &Value) -> String {
    let Value::Object(map) = v else { return cell(v) };
    let width = map.keys().map(String::len).max().unwrap_or(0);
    map.iter().map(|(k, v)| format!("{k:width$}  {}", cell(v))).collect::<Vec<_>>().join("\n")
}

/// The id field of the rows of a list named `list` (`servers` → `serverId`).
fn id_of_list(list: &str) -> String {
    let one = match list.strip_suffix("ies") {
        Some(stem) => format!("{stem}y"),
        None => list.strip_suffix('s').unwrap_or(list).to_string(),
    };
    format!("{one}Id")
}

/// The columns of a table: the rows' own id, then the telling fields, then other scalars.
fn columns(rows: &[Value], id: Option<&str>) -> Vec<String> {
    let Some(Value::Object(first)) = rows.first() else { return Vec::new() };
    let scalar = |k: &String| !first[k].is_object();
    let own = id.filter(|id| first.contains_key(*id)).map(str::to_string);
    let mut cols: Vec<String> = own
        .into_iter()
        .chain(first.keys().filter(|k| k.ends_with("Id") && scalar(k)).cloned())
        .take(1)
        .collect();
    for f in FIRST {
        if first.contains_key(*f) && !cols.iter().any(|c| c == f) {
            cols.push((*f).to_string());
        }
    }
    for k in first.keys().filter(|k| scalar(k) && !first[*k].is_array()) {
        if cols.len() >= MAX_COLUMNS {
            break;
        }
        if !cols.contains(k) && !k.ends_with("Id") {
            cols.push(k.clone());
        }
    }
    cols.truncate(MAX_COLUMNS);
    cols
}

fn table(rows: &[Value], id: Option<&str>) -> String {
    if rows.is_empty() {
        return "(none)".to_string();
    }
    let cols = columns(rows, id);
    if cols.is_empty() {
        return rows.iter().map(cell).collect::<Vec<_>>().join("\n");
    }
    let cells: Vec<Vec<String>> =
        rows.iter().map(|r| cols.iter().map(|c| cell(&r[c.as_str()])).collect()).collect();
    let widths: Vec<usize> = cols
        .iter()
        .enumerate()
        .map(|(i, c)| cells.iter().map(|r| r[i].chars().count()).chain([c.len()]).max().unwrap_or(0))
        .collect();
    let line = |row: &[String]| {
        row.iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}", w = *w))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let header: Vec<String> = cols.iter().map(|c| c.to_uppercase()).collect();
    std::iter::once(line(&header)).chain(cells.iter().map(|r| line(r))).collect::<Vec<_>>().join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lists_become_tables_and_objects_lines() {
        let list = json!({"servers": [{"serverId": "srv_1", "name": "Weather", "slug": "weather", "status": "active"}]});
        let text = render(&list, false);
        assert!(text.starts_with("SERVERID  NAME     SLUG     STATUS"), "{text}");
        assert!(text.contains("srv_1     Weather  weather  active"), "{text}");
        assert_eq!(render(&json!({"servers": []}), false), "(none)");
        assert!(render(&json!({"server": {"name": "W"}}), false).contains("name  W"));
        assert_eq!(render(&Value::Null, false), "Done.");
        assert!(render(&list, true).contains("\"serverId\": \"srv_1\""));
    }
}
