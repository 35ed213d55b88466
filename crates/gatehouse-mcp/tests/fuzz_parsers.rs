//! Property fuzzing of what reads untrusted bytes: the JSON-RPC parser and the SSE reader.
//! Each property runs `PROPTEST_CASES` cases (proptest's default in CI); the long run and its
//! figures are in `docs/SECURITY.md` ("Fuzzing"). The seeds below are inputs that once
//! mattered, always tried first.

use gatehouse_mcp::jsonrpc::{self, from_json_bytes};
use gatehouse_mcp::transport::sse::SseParser;
use proptest::prelude::*;

/// Inputs tried before the generated ones.
const SEEDS: &[&str] = &[
    "",
    "[]",
    "[[[[[[[[[[",
    r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","arguments":{}}}"#,
    r#"{"jsonrpc":"2.0","id":1,"id":2,"method":"ping"}"#,
    r#"{"jsonrpc":"2.0","id":{"x":1},"method":"ping"}"#,
    r#"[{"jsonrpc":"2.0","method":"notifications/initialized"},1,null]"#,
    r#"{"jsonrpc":"2.0","id":1,"result":{},"error":{}}"#,
    "\u{feff}{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}",
    r#"{"jsonrpc":"2.0","id":1e400,"method":"ping"}"#,
];

/// JSON-RPC-shaped text: a message built from a small vocabulary, then perhaps cut short or
/// spliced, so that most cases get past the first byte.
fn message_text() -> impl Strategy<Value = String> {
    let id = prop_oneof![
        Just("1".to_string()),
        Just("\"a\"".to_string()),
        Just("null".to_string()),
        Just("{}".to_string()),
        any::<i64>().prop_map(|n| n.to_string())
    ];
    let method = prop_oneof![
        Just("\"tools/call\""),
        Just("\"tools/list\""),
        Just("\"initialize\""),
        Just("\"ping\""),
        Just("\"notifications/cancelled\""),
        Just("1"),
        Just("null")
    ];
    let params = prop_oneof![
        Just("{}".to_string()),
        Just("[]".to_string()),
        Just("null".to_string()),
        "[a-z_]{0,8}".prop_map(|n| format!(
            r#"{{"name":"{n}","arguments":{{"q":"x"}},"_meta":{{"progressToken":1}}}}"#
        )),
    ];
    (id, method, params, any::<bool>(), 0usize..200, any::<bool>()).prop_map(
        |(id, method, params, batch, cut, do_cut)| {
            let one = format!(r#"{{"jsonrpc":"2.0","id":{id},"method":{method},"params":{params}}}"#);
            let text = if batch { format!("[{one},{one}]") } else { one };
            if do_cut { text.chars().take(cut).collect() } else { text }
        },
    )
}

fn parse_all(bytes: &[u8]) {
    let _ = jsonrpc::parse(bytes);
    let _ = from_json_bytes::<serde_json::Value>(bytes);
}

#[test]
fn the_seeds_parse_without_panicking() {
    for seed in SEEDS {
        parse_all(seed.as_bytes());
        let mut sse = SseParser::new(1024);
        let _ = sse.push(seed.as_bytes());
    }
}

proptest! {
    /// Any bytes: an answer or an error, never a panic.
    #[test]
    fn jsonrpc_parser_takes_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        parse_all(&bytes);
    }

    /// Message-shaped text: whatever parses as JSON parses the same way through both readers.
    #[test]
    fn jsonrpc_parser_agrees_with_serde(text in message_text()) {
        parse_all(text.as_bytes());
        let ours = from_json_bytes::<serde_json::Value>(text.as_bytes()).ok();
        let theirs = serde_json::from_slice::<serde_json::Value>(text.as_bytes()).ok();
        prop_assert_eq!(ours, theirs);
    }

    /// SSE: however a stream is cut into chunks, the same events come out, and nothing panics.
    #[test]
    fn sse_reader_is_indifferent_to_chunking(
        lines in proptest::collection::vec("(data|event|id|retry|:)?:? ?[ -~]{0,20}(\r\n|\n|\r)?", 0..20),
        cuts in proptest::collection::vec(0usize..64, 0..8),
    ) {
        let stream: String = lines.concat();
        let bytes = stream.as_bytes();
        let whole = SseParser::new(4096).push(bytes);
        let mut chunked = SseParser::new(4096);
        let mut events = Vec::new();
        let mut at: usize = 0;
        let mut failed = false;
        for cut in cuts.iter().chain(std::iter::once(&usize::MAX)) {
            let end = at.saturating_add(*cut).min(bytes.len());
            match chunked.push(&bytes[at..end]) {
                Ok(e) => events.extend(e),
                Err(_) => failed = true,
            }
            at = end;
        }
        match whole {
            Ok(expected) if !failed => prop_assert_eq!(format!("{events:?}"), format!("{expected:?}")),
            _ => {}
        }
    }

    /// SSE: arbitrary bytes and a small limit never panic and never buffer past the limit.
    #[test]
    fn sse_reader_takes_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..1024)) {
        let mut sse = SseParser::new(64);
        let _ = sse.push(&bytes);
        let _ = sse.push(b"\n\n");
    }
}
