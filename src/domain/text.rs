//! Validation and normalisation of names people type: slugs, e-mail addresses, labels.

/// Normalises and validates an e-mail address (trimmed, lower-cased, one `@`, a dotted domain).
pub fn normalize_email(raw: &str) -> Option<String> {
    let email = raw.trim().to_ascii_lowercase();
    if email.len() > 254 || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    let (local, domain) = email.split_once('@')?;
    let domain_ok = domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && domain.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    let local_ok = !local.is_empty() && local.len() <= 64 && !local.contains('@');
    (domain_ok && local_ok).then_some(email)
}

/// Whether `slug` is a valid slug: 2–63 of `a-z0-9-`, starting with a letter or digit.
pub fn is_slug(slug: &str) -> bool {
    (2..=63).contains(&slug.len())
        && slug.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !slug.starts_with('-')
        && !slug.ends_with('-')
}

/// A slug derived from a display name (`"My Team!"` → `my-team`), if one can be made.
pub fn slugify(name: &str) -> Option<String> {
    let mut out = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
        if out.len() >= 63 {
            break;
        }
    }
    let out = out.trim_end_matches('-').to_string();
    is_slug(&out).then_some(out)
}

/// Validates a display name: trimmed, 1–200 characters, no control characters.
pub fn display_name(raw: &str, field: &str) -> Result<String, String> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(format!("{field} must be 1 to 200 characters"));
    }
    if name.chars().any(char::is_control) {
        return Err(format!("{field} must not contain control characters"));
    }
    Ok(name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(normalize_email("  Ann@Example.COM ").as_deref(), Some("ann@example.com"));
        for bad in ["", "ann", "ann@", "@x.com", "a@b", "a b@x.com", "a@x..com", "a@@x.com"] {
            assert_eq!(normalize_email(bad), None, "{bad}");
        }
    }

    #[test]
    fn slugs() {
        assert!(is_slug("default") && is_slug("a1-b2"));
        assert!(!is_slug("a") && !is_slug("-a") && !is_slug("A-b") && !is_slug("a_b"));
        assert_eq!(slugify("My Team!").as_deref(), Some("my-team"));
        assert_eq!(slugify("!!!"), None);
        assert!(display_name("  ok ", "name").is_ok());
        assert!(display_name("", "name").is_err());
    }
}
