//! Usage, data logging and call logs (management tools `get_app_usage`,
//! `get_usage_timeseries`, `get_data_logging`, `update_data_logging`). Figures come from the
//! rollups [`crate::usage`] writes in batches; a call is visible here within a few seconds.

use std::collections::BTreeMap;

use axum::http::Method;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::registry::{Access, NoInput, OpCtx, OpSpec, Registry};
use super::servers::{announce, server_of};
use crate::auth::Scope;
use crate::domain::time;
use crate::error::{ApiError, ApiResult};
use crate::store::{CallLogQuery, CallLogRecord, DataLoggingRecord, UsageRow};
use crate::usage::{self, DEFAULT_RETENTION_DAYS, LogMode};

const DAY_MS: i64 = 86_400_000;

/// Sums of a set of rollup rows.
#[derive(Debug, Default, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Totals {
    calls: i64,
    errors: i64,
    bytes_in: i64,
    bytes_out: i64,
    /// Upper bound of the latency bucket holding the median (ms).
    latency_p50_ms: i64,
    latency_p95_ms: i64,
    #[serde(skip)]
    buckets: [i64; 12],
}

impl Totals {
    fn add(&mut self, r: &UsageRow) {
        self.calls += r.calls;
        if r.outcome != "ok" && r.outcome != "input_required" {
            self.errors += r.calls;
        }
        self.bytes_in += r.bytes_in;
        self.bytes_out += r.bytes_out;
        for (a, b) in self.buckets.iter_mut().zip(r.latency_buckets) {
            *a += b;
        }
        self.latency_p50_ms = usage::quantile(&self.buckets, 0.5);
        self.latency_p95_ms = usage::quantile(&self.buckets, 0.95);
    }
}

/// A server's usage since a time.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServerUsage {
    server_id: String,
    /// Start of the first day counted (rollups are per UTC day).
    since: String,
    #[serde(flatten)]
    totals: Totals,
    by_tool: BTreeMap<String, Totals>,
    by_key: BTreeMap<String, Totals>,
    by_outcome: BTreeMap<String, i64>,
}

/// `{"usage": …}`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct UsageEnvelope {
    usage: ServerUsage,
}

/// Query of `get_server_usage`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UsageQuery {
    /// ISO-8601 time; default 30 days ago.
    #[schemars(extend("format" = "date-time"))]
    since: Option<String>,
}

/// One day of the timeseries.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Day {
    /// `YYYY-MM-DD` (UTC).
    date: String,
    #[serde(flatten)]
    totals: Totals,
}

/// Day buckets, zero-filled.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Timeseries {
    range: String,
    days: Vec<Day>,
}

/// Query of `get_usage_timeseries`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "camelCase")]
pub struct TimeseriesQuery {
    /// `7d`, `30d` or `90d` (default `7d`).
    #[schemars(extend("enum" = ["7d", "30d", "90d"]))]
    range: Option<String>,
    /// Only this server's calls.
    #[schemars(length(min = 1, max = 100))]
    server_id: Option<String>,
    /// Only calls made with this API key.
    #[schemars(length(min = 1, max = 100))]
    key_id: Option<String>,
    /// Only calls of this tool (its served name).
    #[schemars(length(min = 1, max = 200))]
    tool: Option<String>,
}

/// A server's data-logging setting.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DataLogging {
    /// `off`, `metadata` (time, key, tool, outcome, latency) or `full` (also arguments and result).
    #[schemars(extend("enum" = ["off", "metadata", "full"]))]
    mode: String,
    /// 1 to 90.
    #[schemars(range(min = 1, max = 90))]
    retention_days: i64,
}

/// `{"dataLogging": …}`.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DataLoggingEnvelope {
    data_logging: DataLogging,
}

/// A logged call.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CallLog {
    log_id: String,
    /// The API key's id, or the connection's (`ocg_…`) when a client that signed in called.
    key_id: String,
    /// Who signed in, for a connection's calls.
    #[serde(skip_serializing_if = "Option::is_none")]
    signed_in: Option<SignedIn>,
    method: String,
    tool: String,
    outcome: String,
    latency_ms: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    arguments: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    result: Option<Value>,
    created_at: String,
}

/// The person and client behind a connection.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignedIn {
    email: String,
    client_id: String,
    client_name: String,
}

impl From<CallLogRecord> for CallLog {
    fn from(r: CallLogRecord) -> Self {
        Self {
            log_id: r.id,
            signed_in: None,
            key_id: r.key_id,
            method: r.method,
            tool: r.tool,
            outcome: r.outcome,
            latency_ms: r.latency_ms,
            arguments: r.arguments.and_then(|a| serde_json::from_str(&a).ok()),
            result: r.result.and_then(|a| serde_json::from_str(&a).ok()),
            created_at: time::iso(r.created_at),
        }
    }
}

/// A page of logged calls, newest first.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CallLogPage {
    logs: Vec<CallLog>,
    /// Pass as `cursor` for the next (older) page.
    next_cursor: Option<String>,
}

/// Filters of `list_call_logs`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CallLogFilters {
    tool: Option<String>,
    /// `ok`, `tool_error`, `error`, `rate_limited`, `input_required`.
    outcome: Option<String>,
    /// ISO-8601, inclusive.
    #[schemars(extend("format" = "date-time"))]
    since: Option<String>,
    /// ISO-8601, exclusive.
    #[schemars(extend("format" = "date-time"))]
    until: Option<String>,
    /// 1 to 200 (default 50).
    #[schemars(range(min = 1, max = 200))]
    limit: Option<i64>,
    cursor: Option<String>,
}

/// Registers the usage and data-logging operations.
pub fn register(r: &mut Registry) {
    r.add(
        OpSpec::new(
            "get_server_usage",
            Method::GET,
            "/api/orgs/{org}/servers/{serverId}/usage",
            Access::Org(Scope::UsageRead),
            "A server's usage since a time: calls, errors, latency, bytes, by tool, key and outcome.",
        ),
        get_usage,
    );
    r.add(
        OpSpec::new(
            "get_usage_timeseries",
            Method::GET,
            "/api/orgs/{org}/usage/timeseries",
            Access::Org(Scope::UsageRead),
            "The org's usage in day buckets over 7d, 30d or 90d, zero-filled; optionally of one server, key or tool.",
        ),
        timeseries,
    );
    r.add(
        OpSpec::new(
            "get_data_logging",
            Method::GET,
            "/api/orgs/{org}/servers/{serverId}/data-logging",
            Access::Org(Scope::ServersRead),
            "Read a server's data-logging mode and retention.",
        ),
        get_logging,
    );
    r.add(
        OpSpec::new(
            "update_data_logging",
            Method::PUT,
            "/api/orgs/{org}/servers/{serverId}/data-logging",
            Access::Org(Scope::ServersWrite),
            "Set a server's data-logging mode (off, metadata, full) and retention (1 to 90 days).",
        ),
        put_logging,
    );
    r.add(
        OpSpec::new(
            "list_call_logs",
            Method::GET,
            "/api/orgs/{org}/servers/{serverId}/logs",
            Access::Org(Scope::UsageRead),
            "Page through a server's logged calls, newest first, with filters.",
        ),
        list_logs,
    );
}

fn parse_time(field: &str, value: Option<&str>) -> ApiResult<Option<i64>> {
    value
        .map(|v| {
            time::parse_iso(v)
                .ok_or_else(|| ApiError::bad_request(format!("{field} must be an ISO-8601 time")))
        })
        .transpose()
}

async fn get_usage(ctx: OpCtx, q: UsageQuery) -> ApiResult<UsageEnvelope> {
    let server = server_of(&ctx).await?;
    let since = parse_time("since", q.since.as_deref())?.unwrap_or_else(|| time::now_ms() - 30 * DAY_MS);
    let since_day = since - since.rem_euclid(DAY_MS);
    // What this node has not written yet counts too.
    ctx.state.plane.usage.flush(ctx.state.store.as_ref()).await;
    let rows = ctx.state.store.usage_rows(&server.org_id, Some(&server.id), since_day).await?;
    let mut usage = ServerUsage {
        server_id: server.id,
        since: time::iso(since_day),
        totals: Totals::default(),
        by_tool: BTreeMap::new(),
        by_key: BTreeMap::new(),
        by_outcome: BTreeMap::new(),
    };
    for r in &rows {
        usage.totals.add(r);
        usage.by_tool.entry(r.tool.clone()).or_default().add(r);
        usage.by_key.entry(r.key_id.clone()).or_default().add(r);
        *usage.by_outcome.entry(r.outcome.clone()).or_default() += r.calls;
    }
    Ok(UsageEnvelope { usage })
}

async fn timeseries(ctx: OpCtx, q: TimeseriesQuery) -> ApiResult<Timeseries> {
    let range = q.range.unwrap_or_else(|| "7d".into());
    let days: i64 = match range.as_str() {
        "7d" => 7,
        "30d" => 30,
        "90d" => 90,
        _ => return Err(ApiError::bad_request("range must be 7d, 30d or 90d")),
    };
    let org = ctx.org()?.id.clone();
    let now = time::now_ms();
    let today = now - now.rem_euclid(DAY_MS);
    let first = today - (days - 1) * DAY_MS;
    ctx.state.plane.usage.flush(ctx.state.store.as_ref()).await;
    let rows = ctx.state.store.usage_rows(&org, q.server_id.as_deref(), first).await?;
    let rows = rows.iter().filter(|r| {
        q.key_id.as_deref().is_none_or(|k| r.key_id == k) && q.tool.as_deref().is_none_or(|t| r.tool == t)
    });
    let mut by_day: BTreeMap<i64, Totals> =
        (0..days).map(|i| (first + i * DAY_MS, Totals::default())).collect();
    for r in rows {
        if let Some(t) = by_day.get_mut(&r.day) {
            t.add(r);
        }
    }
    let days = by_day
        .into_iter()
        .map(|(day, totals)| Day { date: time::iso(day)[..10].to_string(), totals })
        .collect();
    Ok(Timeseries { range, days })
}

async fn get_logging(ctx: OpCtx, _: NoInput) -> ApiResult<DataLoggingEnvelope> {
    let server = server_of(&ctx).await?;
    let stored = ctx.state.store.data_logging_get(&server.id).await?;
    let data_logging = match stored {
        Some(d) => DataLogging { mode: d.mode, retention_days: d.retention_days },
        None => DataLogging { mode: "off".into(), retention_days: DEFAULT_RETENTION_DAYS },
    };
    Ok(DataLoggingEnvelope { data_logging })
}

async fn put_logging(ctx: OpCtx, input: DataLogging) -> ApiResult<DataLoggingEnvelope> {
    let server = server_of(&ctx).await?;
    if LogMode::parse(&input.mode).is_none() {
        return Err(ApiError::bad_request("mode must be off, metadata or full"));
    }
    if !(1..=90).contains(&input.retention_days) {
        return Err(ApiError::bad_request("retentionDays must be 1 to 90"));
    }
    ctx.state
        .store
        .data_logging_put(&DataLoggingRecord {
            server_id: server.id.clone(),
            org_id: server.org_id.clone(),
            mode: input.mode.clone(),
            retention_days: input.retention_days,
            updated_at: time::now_ms(),
        })
        .await?;
    announce(&ctx, &server.id).await?;
    Ok(DataLoggingEnvelope { data_logging: input })
}

async fn list_logs(ctx: OpCtx, f: CallLogFilters) -> ApiResult<CallLogPage> {
    let server = server_of(&ctx).await?;
    let limit = f.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::bad_request("limit must be 1 to 200"));
    }
    ctx.state.plane.usage.flush(ctx.state.store.as_ref()).await;
    let q = CallLogQuery {
        tool: f.tool,
        outcome: f.outcome,
        since: parse_time("since", f.since.as_deref())?,
        until: parse_time("until", f.until.as_deref())?,
        before: f.cursor,
        limit: limit + 1,
    };
    let mut rows = ctx.state.store.call_logs_list(&server.org_id, &server.id, &q).await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = if more { rows.last().map(|r| r.id.clone()) } else { None };
    let mut people: std::collections::HashMap<String, Option<SignedIn>> = std::collections::HashMap::new();
    for r in rows.iter().filter(|r| r.key_id.starts_with("ocg_")) {
        if !people.contains_key(&r.key_id) {
            let grant = ctx.state.store.oauth_grant_get(&r.key_id).await?;
            let who = grant.map(|g| SignedIn {
                email: g.email,
                client_id: g.client_id,
                client_name: g.client_name,
            });
            people.insert(r.key_id.clone(), who);
        }
    }
    let logs = rows
        .into_iter()
        .map(|r| {
            let signed_in = people.get(&r.key_id).cloned().flatten();
            CallLog { signed_in, ..CallLog::from(r) }
        })
        .collect();
    Ok(CallLogPage { logs, next_cursor })
}
