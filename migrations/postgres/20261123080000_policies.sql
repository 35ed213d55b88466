-- Policies per server (upserted by tool pattern) and the counters of their rate limits. A
-- counter row is one fixed window of one policy for one key (or the whole server); expired
-- windows are deleted as new ones are written.

CREATE TABLE policies (
    id                 TEXT PRIMARY KEY,
    org_id             TEXT NOT NULL,
    server_id          TEXT NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    tool_pattern       TEXT NOT NULL,
    action             TEXT NOT NULL,
    rate_requests      BIGINT,
    rate_per_seconds   BIGINT,
    rate_scope         TEXT,
    max_argument_bytes BIGINT,
    validate_arguments BIGINT NOT NULL DEFAULT 0,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    UNIQUE (server_id, tool_pattern)
);

CREATE TABLE rate_counters (
    counter_key TEXT PRIMARY KEY,
    hits        BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX rate_counters_expiry ON rate_counters (expires_at);
