//! Server-Sent Events: framing events to send, and an incremental parser for streams relayed
//! from upstream servers (WHATWG HTML § Server-sent events, "Interpreting an event stream").

/// One event to send.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SseEvent<'a> {
    /// `id:` (resumption cursor; 2025-03-26 to 2025-11-25 only). Line breaks and NUL are removed.
    pub id: Option<&'a str>,
    /// `event:` type; clients treat absent as `message`. Line breaks are removed.
    pub event: Option<&'a str>,
    /// Payload; each line becomes its own `data:` line.
    pub data: &'a str,
    /// `retry:` reconnection delay in milliseconds.
    pub retry_ms: Option<u64>,
}

/// Keep-alive comment (a line starting with a colon is ignored by clients).
pub const KEEPALIVE: &str = ":\n\n";

/// `s` without line breaks and NUL; borrowed when it has none (an event type always).
fn single_line(s: &str) -> std::borrow::Cow<'_, str> {
    if memchr::memchr3(b'\r', b'\n', b'\0', s.as_bytes()).is_none() {
        return std::borrow::Cow::Borrowed(s);
    }
    s.chars().filter(|c| !matches!(c, '\r' | '\n' | '\0')).collect::<String>().into()
}

impl SseEvent<'_> {
    /// The event as text, ending with the blank line that dispatches it. Data is split on every
    /// line terminator SSE knows (CRLF, LF, CR) so no payload can forge a field or an event.
    pub fn format(&self) -> String {
        let mut out = String::with_capacity(self.data.len() + 32);
        if let Some(id) = self.id {
            out.push_str("id: ");
            out.push_str(&single_line(id));
            out.push('\n');
        }
        if let Some(event) = self.event {
            out.push_str("event: ");
            out.push_str(&single_line(event));
            out.push('\n');
        }
        if let Some(retry) = self.retry_ms {
            out.push_str(&format!("retry: {retry}\n"));
        }
        // CR and LF are ASCII, never part of a multi-byte character: a byte scan finds them.
        // (Serialised JSON has none, so a message is one `data:` line, found in one vectorised
        // pass: memchr's, where a byte-by-byte scan was ~1 k instructions per relayed answer.)
        let mut rest = self.data;
        loop {
            let end = memchr::memchr2(b'\n', b'\r', rest.as_bytes());
            out.push_str("data: ");
            out.push_str(&rest[..end.unwrap_or(rest.len())]);
            out.push('\n');
            let Some(end) = end else { break };
            let terminator = if rest[end..].starts_with("\r\n") { 2 } else { 1 };
            rest = &rest[end + terminator..];
        }
        out.push('\n');
        out
    }
}

/// One `event:`-typed event; multi-line data becomes several `data:` lines.
pub fn sse_event(event: &str, data: &str) -> String {
    SseEvent { event: Some(event), data, ..SseEvent::default() }.format()
}

/// A comment line (keep-alive or note); line breaks in `text` are removed.
pub fn sse_comment(text: &str) -> String {
    format!(": {}\n\n", single_line(text))
}

/// An event received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedEvent {
    /// Event type (`message` when the stream named none).
    pub event: String,
    /// Data lines joined with `\n`.
    pub data: String,
    /// Last event id seen on the stream so far, if any.
    pub id: Option<String>,
    /// Reconnection delay the stream asked for, if any.
    pub retry_ms: Option<u64>,
}

/// An SSE stream grew an event larger than the parser allows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("SSE event larger than {limit} bytes")]
pub struct SseTooLarge {
    /// The limit.
    pub limit: usize,
}

/// Incremental SSE parser: feed chunks as they arrive, get whole events back.
#[derive(Debug, Clone)]
pub struct SseParser {
    buffer: Vec<u8>,
    data: String,
    event: String,
    has_data: bool,
    last_id: Option<String>,
    retry_ms: Option<u64>,
    max_event_bytes: usize,
    bom_checked: bool,
}

impl SseParser {
    /// A parser refusing events (or unterminated lines) above `max_event_bytes`.
    pub fn new(max_event_bytes: usize) -> Self {
        Self {
            buffer: Vec::new(),
            data: String::new(),
            event: String::new(),
            has_data: false,
            last_id: None,
            retry_ms: None,
            max_event_bytes,
            bom_checked: false,
        }
    }

    /// Feeds bytes; returns the events they completed.
    pub fn push(&mut self, chunk: &[u8]) -> Result<Vec<ParsedEvent>, SseTooLarge> {
        self.buffer.extend_from_slice(chunk);
        if !self.bom_checked && self.buffer.len() >= 3 {
            if self.buffer.starts_with(b"\xEF\xBB\xBF") {
                self.buffer.drain(..3);
            }
            self.bom_checked = true;
        }
        let mut events = Vec::new();
        let mut start = 0;
        let mut i = 0;
        while i < self.buffer.len() {
            let b = self.buffer[i];
            if b == b'\n' || b == b'\r' {
                // A CR at the very end may be the first half of CRLF: wait for more input.
                if b == b'\r' && i + 1 == self.buffer.len() {
                    break;
                }
                let line = String::from_utf8_lossy(&self.buffer[start..i]).into_owned();
                if let Some(e) = self.line(&line) {
                    events.push(e);
                }
                i += if b == b'\r' && self.buffer.get(i + 1) == Some(&b'\n') { 2 } else { 1 };
                start = i;
            } else {
                i += 1;
            }
        }
        if start > 0 {
            self.bom_checked = true;
        }
        self.buffer.drain(..start);
        if self.buffer.len() + self.data.len() > self.max_event_bytes {
            return Err(SseTooLarge { limit: self.max_event_bytes });
        }
        Ok(events)
    }

    fn line(&mut self, line: &str) -> Option<ParsedEvent> {
        if line.is_empty() {
            return self.dispatch();
        }
        if line.starts_with(':') {
            return None;
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field {
            "data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            "event" => self.event = value.to_string(),
            "id" if !value.contains('\0') => self.last_id = Some(value.to_string()),
            "retry" => {
                if let Ok(ms) = value.parse() {
                    self.retry_ms = Some(ms);
                }
            }
            _ => {}
        }
        None
    }

    fn dispatch(&mut self) -> Option<ParsedEvent> {
        let event = std::mem::take(&mut self.event);
        let data = std::mem::take(&mut self.data);
        if !std::mem::take(&mut self.has_data) {
            return None;
        }
        Some(ParsedEvent {
            event: if event.is_empty() { "message".into() } else { event },
            data,
            id: self.last_id.clone(),
            retry_ms: self.retry_ms,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framing() {
        assert_eq!(sse_event("message", "a\nb"), "event: message\ndata: a\ndata: b\n\n");
        let e = SseEvent { id: Some("1\n2"), event: Some("x\ry"), data: "a\r\nb\rc", retry_ms: Some(5) };
        assert_eq!(e.format(), "id: 12\nevent: xy\nretry: 5\ndata: a\ndata: b\ndata: c\n\n");
        // 2025-11-25 priming event: an id and empty data.
        assert_eq!(SseEvent { id: Some("0"), ..SseEvent::default() }.format(), "id: 0\ndata: \n\n");
        assert_eq!(sse_comment("keep\nalive"), ": keepalive\n\n");
        assert_eq!(KEEPALIVE, ":\n\n");
        // Every terminator ends a line, CRLF counting once; a trailing one leaves an empty line.
        assert_eq!(sse_event("m", "\r\r\n"), "event: m\ndata: \ndata: \ndata: \n\n");
        assert_eq!(sse_event("m", "é\n"), "event: m\ndata: é\ndata: \n\n");
        assert_eq!(sse_event("m", "{\"a\":1}"), "event: m\ndata: {\"a\":1}\n\n");
    }

    #[test]
    fn parsing_round_trips_framing() {
        let payload = "{\"jsonrpc\":\"2.0\",\n\"id\":1}";
        let text = SseEvent { id: Some("7"), event: Some("message"), data: payload, retry_ms: None }.format();
        let mut p = SseParser::new(1 << 20);
        let events = p.push(text.as_bytes()).unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].data, payload);
        assert_eq!(events[0].id.as_deref(), Some("7"));
    }

    #[test]
    fn parsing_across_chunks() {
        let mut p = SseParser::new(1 << 20);
        let stream = b"\xEF\xBB\xBF: comment\r\ndata:a\r\ndata: b\r\n\r\nevent: ping\rdata\r\rretry: 10\nid: x\0y\ndata: c\n\n";
        let mut events = Vec::new();
        for chunk in stream.chunks(1) {
            events.extend(p.push(chunk).unwrap());
        }
        assert_eq!(events.len(), 3);
        assert_eq!((events[0].event.as_str(), events[0].data.as_str()), ("message", "a\nb"));
        assert_eq!((events[1].event.as_str(), events[1].data.as_str()), ("ping", ""));
        assert_eq!(
            (events[2].data.as_str(), events[2].retry_ms, events[2].id.clone()),
            ("c", Some(10), None)
        );
        let mut p = SseParser::new(8);
        assert_eq!(p.push(b"data: 0123456789").unwrap_err(), SseTooLarge { limit: 8 });
        let mut p = SseParser::new(64);
        assert!(p.push(b"event: x\n\n").unwrap().is_empty(), "no data, no event");
    }
}
