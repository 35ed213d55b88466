-- A server's integrations with vendors (RevenueCat, PostHog): settings in the clear, the
-- vendor API key sealed with the master key (purpose integration-key, bound to id).
CREATE TABLE server_integrations (
    id           TEXT PRIMARY KEY,
    server_id    TEXT NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    org_id       TEXT NOT NULL,
    kind         TEXT NOT NULL,
    enabled      BIGINT NOT NULL,
    settings     TEXT NOT NULL,
    api_key      TEXT,
    api_key_hint TEXT,
    updated_at   BIGINT NOT NULL,
    UNIQUE (server_id, kind)
);

-- An end user's entitlements as RevenueCat last reported them, by app user id.
CREATE TABLE end_user_entitlements (
    server_id    TEXT NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    app_user_id  TEXT NOT NULL,
    category     TEXT NOT NULL,
    entitlements TEXT NOT NULL,
    refreshed_at BIGINT NOT NULL,
    PRIMARY KEY (server_id, app_user_id)
);

-- Firebase App Check on the end-user auth service.
ALTER TABLE server_auth_configs ADD COLUMN app_check_enabled BIGINT NOT NULL DEFAULT 0;
ALTER TABLE server_auth_configs ADD COLUMN app_check_project_number TEXT;
ALTER TABLE server_auth_configs ADD COLUMN app_check_app_ids TEXT NOT NULL DEFAULT '';
