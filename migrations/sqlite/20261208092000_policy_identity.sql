-- A policy is identified by its tool pattern and whom it applies to (its sorted callers as
-- JSON, '' for everyone), so that one tool pattern can carry different limits for different
-- callers (e.g. per entitlement category). SQLite cannot drop a table constraint: rebuild.
CREATE TABLE policies_by_caller (
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
    callers            TEXT,
    callers_key        TEXT NOT NULL DEFAULT '',
    UNIQUE (server_id, tool_pattern, callers_key)
);
INSERT INTO policies_by_caller (id, org_id, server_id, tool_pattern, action, rate_requests, rate_per_seconds,
    rate_scope, max_argument_bytes, validate_arguments, created_at, updated_at, callers, callers_key)
SELECT id, org_id, server_id, tool_pattern, action, rate_requests, rate_per_seconds, rate_scope,
    max_argument_bytes, validate_arguments, created_at, updated_at, callers, COALESCE(callers, '')
FROM policies;
DROP TABLE policies;
ALTER TABLE policies_by_caller RENAME TO policies;
