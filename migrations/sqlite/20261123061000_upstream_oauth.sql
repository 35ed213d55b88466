-- OAuth toward upstreams: what was learnt about an upstream's authorization server, the client
-- Gatehouse registered there, the refresh token (sealed) and when the access token expires;
-- and authorization flows in progress (PKCE verifier sealed, looked up by the state's hash).

CREATE TABLE upstream_oauth (
    upstream_id            TEXT PRIMARY KEY REFERENCES upstreams (id) ON DELETE CASCADE,
    org_id                 TEXT NOT NULL,
    issuer                 TEXT NOT NULL,
    authorization_endpoint TEXT NOT NULL,
    token_endpoint         TEXT NOT NULL,
    resource               TEXT NOT NULL,
    scope                  TEXT,
    client_id              TEXT NOT NULL,
    client_secret          TEXT,
    refresh_token          TEXT,
    expires_at             BIGINT,
    updated_at             BIGINT NOT NULL
);

CREATE TABLE upstream_oauth_flows (
    state_hash   TEXT PRIMARY KEY,
    upstream_id  TEXT NOT NULL REFERENCES upstreams (id) ON DELETE CASCADE,
    org_id       TEXT NOT NULL,
    verifier     TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    expires_at   BIGINT NOT NULL
);
