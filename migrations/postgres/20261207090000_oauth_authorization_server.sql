-- Gatehouse as the OAuth 2.1 authorization server of its own MCP endpoints: the clients that
-- may ask (registered dynamically, described by a Client ID Metadata Document, or registered
-- by an org admin), the authorization codes handed out at consent, the grants (one person,
-- one client, one server: what the console lists as a connected client) and their tokens,
-- stored as SHA-256 hashes only. Who may sign in to a server is a setting of the server.

CREATE TABLE oauth_clients (
    id               TEXT PRIMARY KEY,
    kind             TEXT NOT NULL,
    org_id           TEXT REFERENCES orgs (id) ON DELETE CASCADE,
    name             TEXT NOT NULL,
    redirect_uris    TEXT NOT NULL,
    secret_hash      TEXT,
    auth_method      TEXT NOT NULL,
    application_type TEXT NOT NULL,
    client_uri       TEXT,
    created_at       BIGINT NOT NULL,
    expires_at       BIGINT
);
CREATE INDEX oauth_clients_org ON oauth_clients (org_id, created_at);

CREATE TABLE oauth_codes (
    code_hash      TEXT PRIMARY KEY,
    client_id      TEXT NOT NULL,
    org_id         TEXT NOT NULL,
    server_id      TEXT NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    redirect_uri   TEXT NOT NULL,
    code_challenge TEXT NOT NULL,
    scopes         TEXT NOT NULL,
    subject_kind   TEXT NOT NULL,
    user_id        TEXT,
    email          TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    used_at        BIGINT,
    grant_id       TEXT
);

CREATE TABLE oauth_grants (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL,
    server_id    TEXT NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    client_id    TEXT NOT NULL,
    client_name  TEXT NOT NULL,
    subject_kind TEXT NOT NULL,
    user_id      TEXT,
    email        TEXT NOT NULL,
    scopes       TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL,
    revoked_at   BIGINT
);
CREATE INDEX oauth_grants_user ON oauth_grants (user_id, created_at);
CREATE INDEX oauth_grants_server ON oauth_grants (server_id, created_at);

CREATE TABLE oauth_tokens (
    hash       TEXT PRIMARY KEY,
    grant_id   TEXT NOT NULL REFERENCES oauth_grants (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    rotated_at BIGINT
);
CREATE INDEX oauth_tokens_grant ON oauth_tokens (grant_id);
CREATE INDEX oauth_tokens_expiry ON oauth_tokens (expires_at);

CREATE TABLE server_client_access (
    server_id  TEXT PRIMARY KEY REFERENCES servers (id) ON DELETE CASCADE,
    org_id     TEXT NOT NULL,
    sign_in    TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
