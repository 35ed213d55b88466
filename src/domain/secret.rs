//! Secrets as people see them: names, provider labels, value rules, and the masked placeholder
//! shown instead of a value.

/// Longest secret value accepted.
pub const MAX_VALUE_LEN: usize = 8192;

/// A value is 1 to 8192 characters; line breaks and tabs are allowed (PEM keys, key files),
/// other control characters are not. Whoever presents it checks it fits (e.g. a header).
pub fn validate_value(value: &str) -> Result<(), String> {
    let bad = |c: char| c.is_control() && !matches!(c, '\n' | '\r' | '\t');
    if value.is_empty() || value.chars().count() > MAX_VALUE_LEN || value.chars().any(bad) {
        return Err(format!(
            "value must be 1 to {MAX_VALUE_LEN} characters without control characters other than line breaks"
        ));
    }
    Ok(())
}

/// [`validate_value`] as a JSON Schema pattern (with `maxLength` [`MAX_VALUE_LEN`]).
pub const VALUE_PATTERN: &str = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$";
/// [`validate_provider`] as a JSON Schema pattern, in the canonical (lower-case) form.
pub const PROVIDER_PATTERN: &str = r"^[a-z0-9_.-]{1,64}$";

/// A provider label: 1–64 of `a-z0-9_.-`, e.g. `openai`, `anthropic`, `generic`.
pub fn validate_provider(provider: &str) -> Result<String, String> {
    let p = provider.trim().to_ascii_lowercase();
    let ok = (1..=64).contains(&p.len())
        && p.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'.' | b'-'));
    if ok { Ok(p) } else { Err("provider must be 1 to 64 of a-z, 0-9, '_', '.', '-'".into()) }
}

/// The placeholder shown instead of a value: `sk-…9f2c` (a short prefix up to the first `-`,
/// or three characters, then the last four). Never more than half of the value shows: shorter
/// values lose the prefix, values under 12 characters show only `…` and their last two, and
/// values under 8 show nothing (`••••`).
pub fn mask(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    let n = chars.len();
    let tail = |k: usize| chars[n - k..].iter().collect::<String>();
    if n < 8 {
        return "••••".into();
    }
    if n < 12 {
        return format!("…{}", tail(2));
    }
    let dash_prefix = chars.iter().take(8).position(|c| *c == '-').map(|i| i + 1);
    let prefix_len = [dash_prefix, Some(3)].into_iter().flatten().find(|p| (p + 4) * 2 <= n).unwrap_or(0);
    let prefix: String = chars[..prefix_len].iter().collect();
    format!("{prefix}…{}", tail(4))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_show_a_prefix_and_the_last_four() {
        assert_eq!(mask("sk-proj-abcdefghijklmnopqrstuvwxyz0123456789f2c9f2c"), "sk-…9f2c");
        assert_eq!(mask("AIzaSyD-abcdefghijklmnop1234"), "AIzaSyD-…1234");
        assert_eq!(mask("ghp_abcdefghijklmnopqrstuvwxyz"), "ghp…wxyz");
        // Short values never show half of themselves.
        assert_eq!(mask("abcdefghijkl"), "…ijkl");
        assert_eq!(mask("abcdefghijklmn"), "abc…klmn");
        assert_eq!(mask("sk-12345678"), "…78");
        assert_eq!(mask("hunter2"), "••••");
        assert_eq!(mask("ñandú-ñandú-ñandú"), "ñan…andú");
    }

    #[test]
    fn values_and_providers_are_checked() {
        assert!(validate_value("x").is_ok());
        assert!(validate_value("").is_err());
        assert!(validate_value("-----BEGIN KEY-----\nabc\n").is_ok());
        assert!(validate_value("a\u{0}b").is_err());
        assert_eq!(validate_provider(" OpenAI ").unwrap(), "openai");
        assert!(validate_provider("open ai").is_err());
        assert!(validate_provider("").is_err());
    }
}
