-- Secrets (provider keys and credentials, sealed with the master key), HTTP tools and plugin
-- installations that reference a secret instead of carrying a credential, notifications and
-- their per-org webhook.

CREATE TABLE secrets (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    provider     TEXT NOT NULL,
    -- Sealed with the master key (purpose `secret`, bound to the secret id).
    value        TEXT NOT NULL,
    masked       TEXT NOT NULL,
    status       TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    disabled_at  BIGINT,
    UNIQUE (org_id, name)
);

ALTER TABLE http_tools ADD COLUMN auth_secret_id TEXT REFERENCES secrets (id) ON DELETE SET NULL;
CREATE INDEX http_tools_secret ON http_tools (auth_secret_id);

-- Secret fields of a plugin installation taken from org secrets: a JSON object field → secret id.
ALTER TABLE plugin_installations ADD COLUMN secret_refs TEXT;

CREATE TABLE notifications (
    id         TEXT PRIMARY KEY,
    org_id     TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    title      TEXT NOT NULL,
    message    TEXT NOT NULL,
    data       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    read_at    BIGINT
);
CREATE INDEX notifications_org ON notifications (org_id, id);

CREATE TABLE notification_webhooks (
    org_id     TEXT PRIMARY KEY REFERENCES orgs (id) ON DELETE CASCADE,
    url        TEXT NOT NULL,
    -- HMAC signing secret, sealed (purpose `webhook-secret`, bound to the org id).
    secret     TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
