-- Servers (virtual MCP endpoints), their HTTP tools, API keys and key rotations; ended sessions.

CREATE TABLE servers (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    slug        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    UNIQUE (org_id, slug)
);

CREATE TABLE http_tools (
    id              TEXT PRIMARY KEY,
    server_id       TEXT NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    org_id          TEXT NOT NULL,
    name            TEXT NOT NULL,
    description     TEXT NOT NULL,
    method          TEXT NOT NULL,
    endpoint_url    TEXT NOT NULL,
    parameters      TEXT NOT NULL,
    auth_type       TEXT NOT NULL,
    auth_header     TEXT,
    auth_credential TEXT,
    timeout_ms      BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    UNIQUE (server_id, name)
);

CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY,
    server_id   TEXT NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    org_id      TEXT NOT NULL,
    label       TEXT NOT NULL,
    key_hash    TEXT NOT NULL UNIQUE,
    status      TEXT NOT NULL,
    usage_count BIGINT NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL,
    archived_at BIGINT
);
CREATE INDEX api_keys_server ON api_keys (server_id);

CREATE TABLE key_rotations (
    id         TEXT PRIMARY KEY,
    server_id  TEXT NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    old_key_id TEXT NOT NULL,
    new_key_id TEXT NOT NULL,
    actor_type TEXT NOT NULL,
    actor_id   TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX key_rotations_server ON key_rotations (server_id, id);

CREATE TABLE ended_sessions (
    id_hash    TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
