//! `Accept` negotiation between `application/json` and `text/event-stream`. Clients must list
//! both (transports § Sending Messages); the server picks one per request.

/// What a client's `Accept` admits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accept {
    /// `application/json` is acceptable.
    pub json: bool,
    /// `text/event-stream` is acceptable.
    pub sse: bool,
}

/// The body format of an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseFormat {
    /// One JSON object.
    Json,
    /// An SSE stream.
    Sse,
}

impl Accept {
    /// Parses an `Accept` header (RFC 9110 § 12.5.1): media ranges with wildcards, parameters
    /// and `q` weights, case-insensitive. The most specific range matching a type decides, and
    /// `q=0` means "not acceptable". An absent or empty header accepts anything.
    pub fn parse(header: Option<&str>) -> Self {
        let header = header.map(str::trim).filter(|h| !h.is_empty());
        let Some(header) = header else { return Self { json: true, sse: true } };
        // What the official SDKs send, answered without parsing: this runs on every request.
        if let Some((_, accept, _)) = COMMON.iter().find(|(h, _, _)| *h == header) {
            return *accept;
        }
        Self::parse_ranges(header)
    }

    /// The general parser behind [`Accept::parse`].
    fn parse_ranges(header: &str) -> Self {
        // Without allocating: this runs on every request of the data plane.
        let admits = |ty: &str, sub: &str| {
            // (specificity, not acceptable) of the deciding range; on a tie the later range
            // and "not acceptable" win.
            let mut best: Option<(u8, bool)> = None;
            for range in header.split(',') {
                let mut parts = range.split(';');
                let Some((t, s)) = parts.next().and_then(|m| m.trim().split_once('/')) else { continue };
                let (t, s) = (t.trim(), s.trim());
                let specificity = if t.eq_ignore_ascii_case(ty) && s.eq_ignore_ascii_case(sub) {
                    2
                } else if t.eq_ignore_ascii_case(ty) && s == "*" {
                    1
                } else if t == "*" && s == "*" {
                    0
                } else {
                    continue;
                };
                let acceptable = parts
                    .filter_map(|p| p.split_once('='))
                    .find(|(k, _)| k.trim().eq_ignore_ascii_case("q"))
                    .map(|(_, q)| q.trim().parse::<f32>().map(|q| q > 0.0).unwrap_or(false))
                    .unwrap_or(true);
                let candidate = (specificity, !acceptable);
                if best.is_none_or(|b| candidate >= b) {
                    best = Some(candidate);
                }
            }
            best.is_some_and(|(_, refused)| !refused)
        };
        Self { json: admits("application", "json"), sse: admits("text", "event-stream") }
    }

    /// The format to answer a request with: JSON when admitted (one request, one answer), SSE
    /// when only SSE is, `None` when neither is (HTTP 406).
    pub fn response_format(&self) -> Option<ResponseFormat> {
        if self.json {
            Some(ResponseFormat::Json)
        } else if self.sse {
            Some(ResponseFormat::Sse)
        } else {
            None
        }
    }

    /// Whether the client admits both formats, as every Streamable HTTP POST must.
    pub fn is_compliant(&self) -> bool {
        self.json && self.sse
    }
}

/// `Accept` headers as clients commonly send them: what each admits, and whether it prefers
/// SSE ([`prefers_sse`]). The general parser gives the same answers (tested).
const COMMON: [(&str, Accept, bool); 4] = [
    ("application/json, text/event-stream", Accept { json: true, sse: true }, false),
    ("application/json,text/event-stream", Accept { json: true, sse: true }, false),
    ("text/event-stream, application/json", Accept { json: true, sse: true }, true),
    ("application/json", Accept { json: true, sse: false }, false),
];

/// Whether a client's `Accept` admits SSE but not JSON (then a JSON answer would not do).
pub fn wants_sse(accept: &str) -> bool {
    Accept::parse(Some(accept)).response_format() == Some(ResponseFormat::Sse)
}

/// Whether to answer with SSE: when JSON is not admitted, or when the client lists
/// `text/event-stream` before `application/json` (both admitted, equal weight: the server may
/// choose, and the client's own order is the fairest tie-break).
pub fn prefers_sse(accept: &str) -> bool {
    if let Some((_, _, sse_first)) = COMMON.iter().find(|(h, _, _)| *h == accept) {
        return *sse_first;
    }
    prefers_sse_by_ranges(accept)
}

/// The general rule behind [`prefers_sse`].
fn prefers_sse_by_ranges(accept: &str) -> bool {
    let parsed = Accept::parse(Some(accept));
    if !parsed.sse {
        return false;
    }
    if !parsed.json {
        return true;
    }
    for range in accept.split(',') {
        let media = range.split(';').next().unwrap_or_default().trim();
        let weighted =
            range.split(';').skip(1).any(|p| p.trim().get(..2).is_some_and(|q| q.eq_ignore_ascii_case("q=")));
        if weighted {
            return false;
        }
        if media.eq_ignore_ascii_case("text/event-stream") {
            return true;
        }
        if media.eq_ignore_ascii_case("application/json") {
            return false;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_headers_answer_as_the_parser_does() {
        for (header, accept, sse_first) in COMMON {
            assert_eq!(Accept::parse(Some(header)), accept, "{header}");
            assert_eq!(Accept::parse_ranges(header), accept, "{header}");
            assert_eq!(prefers_sse(header), sse_first, "{header}");
            assert_eq!(prefers_sse_by_ranges(header), sse_first, "{header}");
        }
    }

    fn a(h: &str) -> (bool, bool) {
        let a = Accept::parse(Some(h));
        (a.json, a.sse)
    }

    #[test]
    fn media_ranges() {
        assert_eq!(a("application/json, text/event-stream"), (true, true));
        assert_eq!(a("text/event-stream"), (false, true));
        assert_eq!(a("Application/JSON"), (true, false));
        assert_eq!(a("*/*"), (true, true));
        assert_eq!(a("application/*;q=0.5"), (true, false));
        assert_eq!(a("text/*"), (false, true));
        assert_eq!(a("*/*, text/event-stream;q=0"), (true, false), "the specific q=0 wins");
        assert_eq!(a("application/json;q=0, */*"), (false, true));
        assert_eq!(a("application/json; charset=utf-8; q=0.9"), (true, false));
        assert_eq!(a("application/json;q=abc"), (false, false));
        assert_eq!(a("text/html"), (false, false));
        assert_eq!(a("garbage"), (false, false));
        assert_eq!(Accept::parse(None), Accept { json: true, sse: true });
        assert_eq!(Accept::parse(Some("  ")), Accept { json: true, sse: true });
    }

    #[test]
    fn formats() {
        assert_eq!(Accept::parse(Some("text/event-stream")).response_format(), Some(ResponseFormat::Sse));
        assert_eq!(Accept::parse(Some("*/*")).response_format(), Some(ResponseFormat::Json));
        assert_eq!(Accept::parse(Some("text/html")).response_format(), None);
        assert!(Accept::parse(Some("application/json, text/event-stream")).is_compliant());
        assert!(!Accept::parse(Some("application/json")).is_compliant());
        assert!(wants_sse("text/event-stream"));
        assert!(!wants_sse("application/json, text/event-stream"));
        assert!(!wants_sse(""));
        assert!(prefers_sse("text/event-stream, application/json"));
        assert!(!prefers_sse("application/json, text/event-stream"));
        assert!(prefers_sse("text/event-stream"));
        assert!(!prefers_sse("text/event-stream;q=0.5, application/json"));
        assert!(!prefers_sse("*/*"));
        assert!(!prefers_sse("application/json"));
    }
}
