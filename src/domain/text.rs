//! Validation and normalisation of names people type: slugs, e-mail addresses, labels; and
//! the same rules as JSON Schema patterns, for the OpenAPI document (a request its schema
//! admits is one these accept; the tests hold each pattern to its validator).

/// A display name ([`display_name`]): at least one character that is neither white space nor
/// a control character, and no control character. White space is spelt out (Unicode's
/// White_Space, what `trim` removes) rather than `\s`, whose meaning differs between engines.
pub const NAME_PATTERN: &str = concat!(
    r"^[^\u0000-\u001F\u007F-\u009F]*[^\u0000-\u001F\u007F-\u009F",
    r"\t\n\u000B\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000",
    r"][^\u0000-\u001F\u007F-\u009F]*$"
);
/// Longest display name, in characters.
pub const NAME_MAX: u32 = 200;
/// A slug ([`is_slug`]).
pub const SLUG_PATTERN: &str = r"^[a-z0-9][a-z0-9-]{0,61}[a-z0-9]$";
/// E-mail addresses [`normalize_email`] accepts, in the plain form (no surrounding space), with
/// the local part's 64 characters as at most three atoms of 32, 15 and 15 (a pattern that
/// generators can satisfy); `maxLength` 254 is stated beside it.
pub const EMAIL_PATTERN: &str = concat!(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,32}(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,15}){0,2}",
    r"@[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?){1,3}$"
);
/// Longest e-mail address.
pub const EMAIL_MAX: u32 = 254;
/// Text without NUL, with at least one character that is not white space (a tool's description).
pub const DESCRIPTION_PATTERN: &str = concat!(
    r"^[^\u0000]*[^\u0000",
    r"\t\n\u000B\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000",
    r"][^\u0000]*$"
);

/// Normalises and validates an e-mail address: trimmed, lower-cased, a dot-atom local part of
/// at most 64 characters, `@`, and a domain of dotted host labels (1–63 of letters, digits and
/// inner hyphens), at most 254 in all: what an SMTP server takes (RFC 5321 § 4.1.2, 4.5.3.1).
pub fn normalize_email(raw: &str) -> Option<String> {
    let email = raw.trim().to_ascii_lowercase();
    if email.len() > 254 {
        return None;
    }
    let (local, domain) = email.split_once('@')?;
    let atext = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+/=?^_`{|}~-".contains(&b);
    let local_ok =
        local.len() <= 64 && local.split('.').all(|atom| !atom.is_empty() && atom.bytes().all(atext));
    let label_ok = |label: &str| {
        (1..=63).contains(&label.len())
            && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    let domain_ok = domain.contains('.') && domain.split('.').all(label_ok);
    (local_ok && domain_ok).then_some(email)
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

/// The slug of a display name, or `{kind}-` and six random hex digits when the name has too
/// few letters and digits to make one (`"日本"` → `server-3fa9c1`).
pub fn slug_for(name: &str, kind: &str) -> String {
    slugify(name).unwrap_or_else(|| format!("{kind}-{:06x}", rand::random::<u32>() & 0xff_ffff))
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
        for bad in [
            "",
            "ann",
            "ann@",
            "@x.com",
            "a@b",
            "a b@x.com",
            "a@x..com",
            "a@@x.com",
            "a..b@x.com",
            ".a@x.com",
            "a(b)@x.com",
            "a@-x.com",
            "a@x-.com",
        ] {
            assert_eq!(normalize_email(bad), None, "{bad}");
        }
    }

    /// What a pattern admits, the validator accepts (the OpenAPI document never promises more
    /// than Gatehouse does); for slugs the two are the same rule.
    #[test]
    fn patterns_admit_only_what_validators_accept() {
        let admits = |pattern: &str, s: &str| {
            jsonschema::is_valid(
                &serde_json::json!({"type": "string", "pattern": pattern}),
                &serde_json::json!(s),
            )
        };
        let corpus = [
            "",
            " ",
            "a",
            " a ",
            "Acme Team",
            "日本",
            "\u{1c}",
            "a\u{7}b",
            "\u{85}x",
            "x\u{9f}",
            "\u{2028}",
            "\u{200b}",
            "a\u{0}b",
            "tab\there",
            "line\nbreak",
            "ann@example.com",
            "Ann@Example.COM",
            " ann@example.com",
            "a@b",
            "a@b.c",
            "é@x.com",
            "a@-.-",
            "a@x..com",
            "my-team",
            "-x",
            "x-",
            "ab",
            "a",
            "A1",
            "a_b",
            "0123456789012345678901234567890123456789012345678901234567890123",
        ];
        for s in corpus {
            if admits(NAME_PATTERN, s) {
                assert!(display_name(s, "name").is_ok(), "{s:?}");
            }
            if admits(EMAIL_PATTERN, s) {
                assert!(normalize_email(s).is_some(), "{s:?}");
            }
            assert_eq!(admits(SLUG_PATTERN, s), is_slug(s), "{s:?}");
            if admits(DESCRIPTION_PATTERN, s) {
                assert!(!s.trim().is_empty() && !s.contains('\0'), "{s:?}");
            }
        }
        assert!(
            admits(NAME_PATTERN, "Acme Team")
                && !admits(NAME_PATTERN, " ")
                && !admits(NAME_PATTERN, "a\u{7}")
        );
        assert!(admits(EMAIL_PATTERN, "ann@example.com") && !admits(EMAIL_PATTERN, "a@b"));
        let long_local = format!("{}@x.com", "a".repeat(65));
        assert!(!admits(EMAIL_PATTERN, &long_local) && normalize_email(&long_local).is_none());
        let long_label = format!("a@{}.com", "b".repeat(64));
        assert!(!admits(EMAIL_PATTERN, &long_label) && normalize_email(&long_label).is_none());
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
