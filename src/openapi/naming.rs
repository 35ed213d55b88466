//! Names an operation's tool and its arguments get: snake_case from `operationId` (or the
//! method and path), within the tool-name rules, each unique.

use std::collections::HashSet;

/// Longest tool name (the tool-name rules of Gatehouse's HTTP tools).
pub const MAX_NAME: usize = 64;

/// `operationId` (or `method path`) in snake_case: `getPetById` → `get_pet_by_id`,
/// `GET /pet/{petId}` → `get_pet_pet_id`.
pub fn snake_case(text: &str) -> String {
    let mut out = String::new();
    let mut previous: Option<char> = None;
    let chars: Vec<char> = text.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_alphanumeric() {
            let upper = c.is_ascii_uppercase();
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            let boundary = match previous {
                Some(p) if upper => {
                    p.is_ascii_lowercase() || p.is_ascii_digit() || (p.is_ascii_uppercase() && next_lower)
                }
                _ => false,
            };
            if boundary && !out.ends_with('_') {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('_') {
            out.push('_');
        }
        previous = Some(c);
    }
    let trimmed = out.trim_matches('_');
    let mut name = if trimmed.starts_with(|c: char| c.is_ascii_lowercase()) {
        trimmed.to_owned()
    } else {
        format!("op_{trimmed}")
    };
    name.truncate(MAX_NAME);
    name.trim_end_matches('_').to_owned()
}

/// Hands out names, each once: a taken one gets `_2`, `_3`, … (shortened to fit).
#[derive(Default)]
pub struct Names {
    taken: HashSet<String>,
}

impl Names {
    /// Whether `name` was handed out.
    pub fn is_taken(&self, name: &str) -> bool {
        self.taken.contains(name)
    }

    pub fn unique(&mut self, wanted: &str) -> String {
        let mut name = wanted.to_owned();
        let mut n = 2;
        while self.taken.contains(&name) {
            let suffix = format!("_{n}");
            let mut base = wanted.to_owned();
            base.truncate(MAX_NAME - suffix.len());
            name = format!("{base}{suffix}");
            n += 1;
        }
        self.taken.insert(name.clone());
        name
    }
}

/// An argument name for a parameter named `wire` on the wire: the tool's argument names are
/// 1–64 of `A-Za-z0-9_-`; comparison marks (`StartTime<`) keep their meaning as `_lt`/`_gt`.
pub fn argument(wire: &str) -> String {
    let mut out = String::new();
    for c in wire.chars() {
        match c {
            c if c.is_ascii_alphanumeric() || c == '_' || c == '-' => out.push(c),
            '<' => out.push_str("_lt"),
            '>' => out.push_str("_gt"),
            _ if !out.ends_with('_') => out.push('_'),
            _ => {}
        }
    }
    let mut out = out.trim_matches('_').to_owned();
    if out.is_empty() {
        out = "arg".into();
    }
    out.truncate(MAX_NAME);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_ids_become_snake_case() {
        assert_eq!(snake_case("getPetById"), "get_pet_by_id");
        assert_eq!(snake_case("CreateAccount"), "create_account");
        assert_eq!(snake_case("listHTTPRoutes"), "list_http_routes");
        assert_eq!(snake_case("GET /pet/{petId}/uploadImage"), "get_pet_pet_id_upload_image");
        assert_eq!(snake_case("123-go"), "op_123_go");
        assert_eq!(snake_case("a".repeat(100).as_str()).len(), MAX_NAME);
    }

    #[test]
    fn names_are_handed_out_once() {
        let mut names = Names::default();
        assert_eq!(names.unique("list"), "list");
        assert_eq!(names.unique("list"), "list_2");
        assert_eq!(names.unique("list"), "list_3");
        let long = "x".repeat(MAX_NAME);
        names.unique(&long);
        assert_eq!(names.unique(&long).len(), MAX_NAME);
    }

    #[test]
    fn arguments_keep_their_meaning() {
        assert_eq!(argument("StartTime<"), "StartTime_lt");
        assert_eq!(argument("StartTime>"), "StartTime_gt");
        assert_eq!(argument("filter[name]"), "filter_name");
        assert_eq!(argument("page.size"), "page_size");
        assert_eq!(argument("%%"), "arg");
    }
}
