//! Usage and call logs of the data plane, without a database write on the hot path: every
//! call is added to in-memory rollups (per org, server, key, tool, outcome and UTC day, with
//! latency buckets and bytes) and, when the server's data logging asks, to a log buffer; both
//! are written in batches every few seconds and at graceful shutdown. The retention job deletes
//! call logs past each server's retention, in bounded batches.

use std::sync::Mutex;
use std::time::Duration;

use serde_json::Value;

use crate::domain::{ids, time};
use crate::store::usage::LATENCY_BUCKETS_MS;
use crate::store::{CallLogRecord, Store, UsageRow};

/// How often buffers are written.
pub const FLUSH_EVERY: Duration = Duration::from_secs(2);
/// Call logs deleted per statement by the retention job.
pub const PRUNE_BATCH: i64 = 1000;
/// Retention of servers without a data-logging setting.
pub const DEFAULT_RETENTION_DAYS: i64 = 30;
const DAY_MS: i64 = 86_400_000;
/// Largest arguments or result kept in a `full` log entry.
const MAX_LOGGED_BYTES: usize = 64 * 1024;

/// What is logged of a server's calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogMode {
    #[default]
    Off,
    /// Time, key, tool, outcome, latency.
    Metadata,
    /// Metadata plus arguments and result.
    Full,
}

impl LogMode {
    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "off" => Some(LogMode::Off),
            "metadata" => Some(LogMode::Metadata),
            "full" => Some(LogMode::Full),
            _ => None,
        }
    }
}

/// One served call.
pub struct CallEvent<'a> {
    pub org_id: &'a str,
    pub server_id: &'a str,
    pub key_id: &'a str,
    pub method: &'a str,
    /// What the rollups count the call under (a bounded set: see `gateway::router`).
    pub tool: &'a str,
    /// The tool, prompt or resource as the call named it: what the call log shows.
    pub requested: &'a str,
    pub outcome: &'static str,
    pub latency_ms: i64,
    pub bytes_in: i64,
    pub bytes_out: i64,
    pub log: LogMode,
    pub arguments: Option<&'a Value>,
    pub result: Option<&'a Value>,
    /// Credentials the call used: never written to a log, wherever they turn up (an API that
    /// echoes its request headers, say).
    pub secrets: &'a [String],
}

/// A rollup's identity: server, key, tool, outcome, day.
type Key = (String, String, String, String, i64);

/// [`Key`] borrowed from a call: looked up without allocating (this runs on every call). It
/// hashes as the owned tuple does (a tuple and a tuple struct hash their fields in order).
#[derive(Hash)]
struct KeyRef<'a>(&'a str, &'a str, &'a str, &'a str, i64);

impl hashbrown::Equivalent<Key> for KeyRef<'_> {
    fn equivalent(&self, key: &Key) -> bool {
        self.4 == key.4 && self.2 == key.2 && self.0 == key.0 && self.1 == key.1 && self.3 == key.3
    }
}

impl From<&KeyRef<'_>> for Key {
    fn from(k: &KeyRef<'_>) -> Self {
        (k.0.to_string(), k.1.to_string(), k.2.to_string(), k.3.to_string(), k.4)
    }
}

type HashMap<K, V> = hashbrown::HashMap<K, V>;

/// The node's buffers.
#[derive(Default)]
pub struct Usage {
    rollups: Mutex<HashMap<Key, UsageRow>>,
    logs: Mutex<Vec<CallLogRecord>>,
    /// When everything buffered was last written (ms since the epoch; 0: not yet).
    flushed_at: std::sync::atomic::AtomicI64,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The latency bucket of a duration.
pub fn bucket(latency_ms: i64) -> usize {
    LATENCY_BUCKETS_MS.iter().position(|b| latency_ms <= *b).unwrap_or(LATENCY_BUCKETS_MS.len())
}

/// The upper bound (ms) of the bucket holding the `q` quantile of `buckets`, or 0 without data.
pub fn quantile(buckets: &[i64; 12], q: f64) -> i64 {
    let total: i64 = buckets.iter().sum();
    if total == 0 {
        return 0;
    }
    let rank = ((total as f64) * q).ceil().max(1.0) as i64;
    let mut seen = 0;
    for (i, n) in buckets.iter().enumerate() {
        seen += n;
        if seen >= rank {
            return LATENCY_BUCKETS_MS.get(i).copied().unwrap_or(LATENCY_BUCKETS_MS[10] * 2);
        }
    }
    LATENCY_BUCKETS_MS[10] * 2
}

/// Longest name a call log keeps (a client may send any name).
const MAX_LOGGED_NAME: usize = 256;

/// At most `max` bytes of `s`, cut at a character boundary.
fn truncated(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// A value as a call log keeps it: JSON text with the credentials it must not hold redacted,
/// or a note of its size when it is too long.
pub fn bounded_json(v: Option<&Value>, secrets: &[String]) -> Option<String> {
    let mut text = serde_json::to_string(v?).ok()?;
    for secret in secrets.iter().filter(|s| s.len() >= 4) {
        if text.contains(secret.as_str()) {
            text = text.replace(secret.as_str(), "[redacted]");
        }
    }
    Some(if text.len() > MAX_LOGGED_BYTES {
        serde_json::json!({"truncated": true, "bytes": text.len()}).to_string()
    } else {
        text
    })
}

impl Usage {
    /// Counts a call (and logs it when the server asks).
    pub fn record(&self, e: CallEvent<'_>) {
        let now = time::now_ms();
        let day = now - now.rem_euclid(DAY_MS);
        {
            let mut rollups = lock(&self.rollups);
            let key = KeyRef(e.server_id, e.key_id, e.tool, e.outcome, day);
            let row = rollups.entry_ref(&key).or_insert_with(|| UsageRow {
                org_id: e.org_id.to_string(),
                server_id: e.server_id.to_string(),
                key_id: e.key_id.to_string(),
                tool: e.tool.to_string(),
                outcome: e.outcome.to_string(),
                day,
                ..UsageRow::default()
            });
            row.calls += 1;
            row.latency_ms += e.latency_ms;
            row.bytes_in += e.bytes_in;
            row.bytes_out += e.bytes_out;
            row.latency_buckets[bucket(e.latency_ms)] += 1;
        }
        if e.log == LogMode::Off {
            return;
        }
        let full = e.log == LogMode::Full;
        lock(&self.logs).push(CallLogRecord {
            id: ids::new_id("cal"),
            org_id: e.org_id.to_string(),
            server_id: e.server_id.to_string(),
            key_id: e.key_id.to_string(),
            method: e.method.to_string(),
            tool: truncated(e.requested, MAX_LOGGED_NAME).to_string(),
            outcome: e.outcome.to_string(),
            latency_ms: e.latency_ms,
            arguments: if full { bounded_json(e.arguments, e.secrets) } else { None },
            result: if full { bounded_json(e.result, e.secrets) } else { None },
            created_at: now,
        });
    }

    /// Writes what is buffered. What cannot be written stays for the next attempt.
    pub async fn flush(&self, store: &dyn Store) {
        let started = crate::domain::time::now_ms();
        let mut whole = true;
        let rollups: Vec<UsageRow> = lock(&self.rollups).drain().map(|(_, r)| r).collect();
        if !rollups.is_empty() {
            if let Err(e) = store.usage_add(&rollups).await {
                tracing::error!(error = %e, "usage not written; kept for the next flush");
                whole = false;
                let mut buffer = lock(&self.rollups);
                for r in rollups {
                    merge(&mut buffer, r);
                }
            }
        }
        let logs: Vec<CallLogRecord> = std::mem::take(&mut *lock(&self.logs));
        if !logs.is_empty() {
            if let Err(e) = store.call_logs_insert(&logs).await {
                tracing::error!(error = %e, "call logs not written; kept for the next flush");
                whole = false;
                lock(&self.logs).extend(logs);
            }
        }
        if whole {
            self.flushed_at.store(started, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// Rollups and call logs waiting to be written.
    pub fn pending(&self) -> usize {
        lock(&self.rollups).len() + lock(&self.logs).len()
    }

    /// When everything buffered was last written (ms since the epoch), if it has been.
    pub fn flushed_at(&self) -> Option<i64> {
        Some(self.flushed_at.load(std::sync::atomic::Ordering::Relaxed)).filter(|at| *at > 0)
    }
}

fn merge(buffer: &mut HashMap<Key, UsageRow>, r: UsageRow) {
    let key = (r.server_id.clone(), r.key_id.clone(), r.tool.clone(), r.outcome.clone(), r.day);
    match buffer.get_mut(&key) {
        None => {
            buffer.insert(key, r);
        }
        Some(row) => {
            row.calls += r.calls;
            row.latency_ms += r.latency_ms;
            row.bytes_in += r.bytes_in;
            row.bytes_out += r.bytes_out;
            for (a, b) in row.latency_buckets.iter_mut().zip(r.latency_buckets) {
                *a += b;
            }
        }
    }
}

/// Deletes call logs past each server's retention (bounded batches); returns how many.
pub async fn prune(store: &dyn Store, now: i64) -> u64 {
    let settings = match store.data_logging_all().await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "retention: settings unreadable");
            return 0;
        }
    };
    let mut deleted = 0;
    for s in settings {
        let before = now - s.retention_days * DAY_MS;
        loop {
            match store.call_logs_prune(&s.server_id, before, PRUNE_BATCH).await {
                Ok(n) => {
                    deleted += n;
                    if n < PRUNE_BATCH as u64 {
                        break;
                    }
                }
                Err(e) => {
                    tracing::error!(server = %s.server_id, error = %e, "retention: delete failed");
                    break;
                }
            }
        }
    }
    deleted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_names_are_cut_at_a_character_boundary() {
        assert_eq!(truncated("abc", 10), "abc");
        assert_eq!(truncated("abcdef", 3), "abc");
        // 'é' is two bytes: a cut inside it moves back before it.
        assert_eq!(truncated("aé", 2), "a");
    }

    #[test]
    fn buckets_and_quantiles() {
        assert_eq!(bucket(0), 0);
        assert_eq!(bucket(1), 0);
        assert_eq!(bucket(3), 2);
        assert_eq!(bucket(5000), 11);
        let mut b = [0i64; 12];
        b[bucket(3)] += 90;
        b[bucket(150)] += 10;
        assert_eq!(quantile(&b, 0.5), 5);
        assert_eq!(quantile(&b, 0.95), 200);
        assert_eq!(quantile(&[0; 12], 0.5), 0);
    }

    fn event<'a>(tool: &'a str, outcome: &'static str) -> CallEvent<'a> {
        CallEvent {
            org_id: "org_1",
            server_id: "srv_1",
            key_id: "key_1",
            method: "tools/call",
            tool,
            requested: tool,
            outcome,
            latency_ms: 3,
            bytes_in: 10,
            bytes_out: 20,
            log: LogMode::Off,
            arguments: None,
            result: None,
            secrets: &[],
        }
    }

    #[test]
    fn calls_add_up_in_one_rollup_per_key_whether_recorded_or_merged_back() {
        let usage = Usage::default();
        usage.record(event("get_weather", "ok"));
        usage.record(event("get_weather", "ok"));
        usage.record(event("get_weather", "tool_error"));
        // A row put back after a failed flush is found by the borrowed key of the next call.
        let rows: Vec<UsageRow> = lock(&usage.rollups).drain().map(|(_, r)| r).collect();
        assert_eq!(rows.len(), 2);
        for row in rows {
            merge(&mut lock(&usage.rollups), row);
        }
        usage.record(event("get_weather", "ok"));
        let rollups = lock(&usage.rollups);
        assert_eq!(rollups.len(), 2);
        let ok = rollups.values().find(|r| r.outcome == "ok").unwrap();
        assert_eq!((ok.calls, ok.latency_ms, ok.bytes_in, ok.bytes_out), (3, 9, 30, 60));
        assert_eq!(ok.latency_buckets[bucket(3)], 3);
        assert_eq!(
            (ok.org_id.as_str(), ok.key_id.as_str(), ok.tool.as_str()),
            ("org_1", "key_1", "get_weather")
        );
    }
}
