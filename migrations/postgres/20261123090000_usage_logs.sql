-- Usage: one row per (server, key, tool, outcome, UTC day), added to in batches; latencies in
-- fixed buckets (upper bounds in ms: 1 2 5 10 20 50 100 200 500 1000 2000, then the rest) so
-- percentiles can be read off sums. Data logging: per-server settings and the call log.

CREATE TABLE usage_daily (
    org_id     TEXT NOT NULL,
    server_id  TEXT NOT NULL,
    key_id     TEXT NOT NULL,
    tool       TEXT NOT NULL,
    outcome    TEXT NOT NULL,
    day        BIGINT NOT NULL,
    calls      BIGINT NOT NULL,
    latency_ms BIGINT NOT NULL,
    bytes_in   BIGINT NOT NULL,
    bytes_out  BIGINT NOT NULL,
    lat_b0 BIGINT NOT NULL DEFAULT 0, lat_b1 BIGINT NOT NULL DEFAULT 0, lat_b2 BIGINT NOT NULL DEFAULT 0,
    lat_b3 BIGINT NOT NULL DEFAULT 0, lat_b4 BIGINT NOT NULL DEFAULT 0, lat_b5 BIGINT NOT NULL DEFAULT 0,
    lat_b6 BIGINT NOT NULL DEFAULT 0, lat_b7 BIGINT NOT NULL DEFAULT 0, lat_b8 BIGINT NOT NULL DEFAULT 0,
    lat_b9 BIGINT NOT NULL DEFAULT 0, lat_b10 BIGINT NOT NULL DEFAULT 0, lat_b11 BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (server_id, key_id, tool, outcome, day)
);
CREATE INDEX usage_daily_org_day ON usage_daily (org_id, day);

CREATE TABLE data_logging (
    server_id      TEXT PRIMARY KEY REFERENCES servers (id) ON DELETE CASCADE,
    org_id         TEXT NOT NULL,
    mode           TEXT NOT NULL,
    retention_days BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);

CREATE TABLE call_logs (
    id         TEXT PRIMARY KEY,
    org_id     TEXT NOT NULL,
    server_id  TEXT NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    key_id     TEXT NOT NULL,
    method     TEXT NOT NULL,
    tool       TEXT NOT NULL,
    outcome    TEXT NOT NULL,
    latency_ms BIGINT NOT NULL,
    arguments  TEXT,
    result     TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX call_logs_server_time ON call_logs (server_id, created_at);
