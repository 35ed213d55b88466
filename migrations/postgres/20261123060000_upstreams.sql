-- Upstream MCP servers, their discovered catalogue (tools with approval state and pinned
-- definition hash; prompts, resources, resource templates), and attachments to servers.

CREATE TABLE upstreams (
    id               TEXT PRIMARY KEY,
    org_id           TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    name             TEXT NOT NULL,
    description      TEXT NOT NULL DEFAULT '',
    transport        TEXT NOT NULL,
    url              TEXT,
    command          TEXT,
    args             TEXT NOT NULL DEFAULT '[]',
    env_sealed       TEXT,
    request_headers  TEXT NOT NULL DEFAULT '{}',
    auth_type        TEXT NOT NULL DEFAULT 'none',
    auth_header      TEXT,
    auth_credential  TEXT,
    approval_policy  TEXT NOT NULL,
    is_enabled       BIGINT NOT NULL DEFAULT 1,
    status           TEXT NOT NULL,
    last_error       TEXT,
    protocol_version TEXT,
    server_info      TEXT,
    template_id      TEXT,
    timeout_ms       BIGINT NOT NULL,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    refreshed_at     BIGINT,
    UNIQUE (org_id, name)
);

CREATE TABLE upstream_tools (
    upstream_id     TEXT NOT NULL REFERENCES upstreams (id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    definition      TEXT NOT NULL,
    definition_hash TEXT NOT NULL,
    approved_hash   TEXT,
    approval_state  TEXT NOT NULL,
    enabled         BIGINT NOT NULL DEFAULT 1,
    position        BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    PRIMARY KEY (upstream_id, name)
);

CREATE TABLE upstream_items (
    upstream_id TEXT NOT NULL REFERENCES upstreams (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,
    item_key    TEXT NOT NULL,
    definition  TEXT NOT NULL,
    position    BIGINT NOT NULL,
    PRIMARY KEY (upstream_id, kind, item_key)
);

CREATE TABLE server_upstreams (
    server_id   TEXT NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    upstream_id TEXT NOT NULL REFERENCES upstreams (id) ON DELETE CASCADE,
    org_id      TEXT NOT NULL,
    tools       TEXT,
    prefix      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (server_id, upstream_id)
);
CREATE INDEX server_upstreams_upstream ON server_upstreams (upstream_id);
