//! Identifiers: a type prefix and a time-ordered UUID, e.g. `org_0193…`.

/// A new id with `prefix` (`org`, `usr`, `tok`, …); later ids sort after earlier ones.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::now_v7().simple())
}

/// Whether `text` could be an id with `prefix` (used to reject garbage before a lookup).
pub fn looks_like(text: &str, prefix: &str) -> bool {
    text.strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('_'))
        .is_some_and(|hex| hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_prefixed_and_ordered() {
        let a = new_id("org");
        let b = new_id("org");
        assert!(looks_like(&a, "org") && !looks_like(&a, "usr"));
        assert!(a < b);
        assert!(!looks_like("org_xyz", "org"));
    }
}
