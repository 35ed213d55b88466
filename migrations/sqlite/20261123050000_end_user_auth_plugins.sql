-- End-user auth service (seed 001): per-org RS256 signing keys, per-server auth configuration,
-- one-time codes of end users; plugin installations per server and their invocation log.

CREATE TABLE signing_keys (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    algorithm   TEXT NOT NULL,
    public_n    TEXT NOT NULL,
    public_e    TEXT NOT NULL,
    private_key TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    retired_at  BIGINT,
    max_exp     BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX signing_keys_org ON signing_keys (org_id, created_at);
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys (org_id) WHERE retired_at IS NULL;

CREATE TABLE server_auth_configs (
    server_id             TEXT PRIMARY KEY REFERENCES servers (id) ON DELETE CASCADE,
    org_id                TEXT NOT NULL,
    enabled               BIGINT NOT NULL,
    token_lifetime_secs   BIGINT NOT NULL,
    code_lifetime_secs    BIGINT NOT NULL,
    allowed_email_domains TEXT NOT NULL,
    email_sender_name     TEXT,
    email_subject         TEXT,
    updated_at            BIGINT NOT NULL
);

CREATE TABLE end_user_codes (
    id          TEXT PRIMARY KEY,
    server_id   TEXT NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    key_id      TEXT NOT NULL,
    email       TEXT NOT NULL,
    code_hash   TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    attempts    BIGINT NOT NULL DEFAULT 0,
    consumed_at BIGINT
);
CREATE INDEX end_user_codes_email ON end_user_codes (server_id, email, created_at);
CREATE INDEX end_user_codes_key ON end_user_codes (key_id, created_at);

CREATE TABLE plugin_installations (
    id            TEXT PRIMARY KEY,
    server_id     TEXT NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    org_id        TEXT NOT NULL,
    plugin_id     TEXT NOT NULL,
    enabled       BIGINT NOT NULL,
    config        TEXT NOT NULL,
    secrets       TEXT,
    secret_fields TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    UNIQUE (server_id, plugin_id)
);

CREATE TABLE plugin_invocations (
    id          TEXT PRIMARY KEY,
    server_id   TEXT NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    org_id      TEXT NOT NULL,
    plugin_id   TEXT NOT NULL,
    key_id      TEXT,
    outcome     TEXT NOT NULL,
    status      BIGINT NOT NULL,
    duration_ms BIGINT NOT NULL,
    error       TEXT,
    created_at  BIGINT NOT NULL
);
CREATE INDEX plugin_invocations_server ON plugin_invocations (server_id, plugin_id, id);
