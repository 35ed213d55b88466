//! How long an answer may be reused, from its `Cache-Control`.

use std::time::Duration;

use http::header::{self, HeaderMap};

/// How long an answer may be reused: its `Cache-Control: max-age` within `bounds`, `default`
/// without one, as briefly as allowed under `no-store` or `no-cache`.
pub fn cache_lifetime(
    headers: &HeaderMap,
    default: Duration,
    bounds: std::ops::RangeInclusive<Duration>,
) -> Duration {
    let control = headers.get(header::CACHE_CONTROL).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let mut age = None;
    for directive in control.split(',').map(str::trim) {
        let lower = directive.to_ascii_lowercase();
        if lower == "no-store" || lower == "no-cache" {
            return *bounds.start();
        }
        if let Some(v) = lower.strip_prefix("max-age=") {
            age = v.trim_matches('"').parse::<u64>().ok();
        }
    }
    age.map(Duration::from_secs).unwrap_or(default).clamp(*bounds.start(), *bounds.end())
}
