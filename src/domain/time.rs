//! Time as Gatehouse stores it (milliseconds since the epoch) and shows it (ISO-8601, UTC).

use chrono::{DateTime, SecondsFormat, Utc};

/// Now, in milliseconds since the epoch.
pub fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

/// `2026-04-12T10:00:00.000Z`, the format of every time in the API.
pub fn iso(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Parses an ISO-8601 / RFC 3339 time into milliseconds.
pub fn parse_iso(text: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(text).ok().map(|t| t.timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_round_trips_in_the_seed_format() {
        let ms = parse_iso("2026-04-12T10:00:00.000Z").unwrap();
        assert_eq!(iso(ms), "2026-04-12T10:00:00.000Z");
        assert_eq!(parse_iso("yesterday"), None);
    }
}
