-- Whose credential an upstream is reached with: `shared` (one for every caller) or
-- `per_user` (each person's own, authorized by them).
ALTER TABLE upstreams ADD COLUMN credential_mode TEXT NOT NULL DEFAULT 'shared';

-- The person an authorization is for (a per-person upstream); NULL for the shared credential.
ALTER TABLE upstream_oauth_flows ADD COLUMN subject TEXT;

-- Each person's tokens for a per-person upstream. The subject is the person's e-mail in lower
-- case (members and the end users of a server's sign-in alike); the tokens are sealed, bound
-- to the row id.
CREATE TABLE upstream_user_tokens (
    id            TEXT PRIMARY KEY,
    upstream_id   TEXT NOT NULL REFERENCES upstreams (id) ON DELETE CASCADE,
    org_id        TEXT NOT NULL,
    subject       TEXT NOT NULL,
    access_token  TEXT NOT NULL,
    refresh_token TEXT,
    expires_at    BIGINT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    UNIQUE (upstream_id, subject)
);
CREATE INDEX upstream_user_tokens_by_subject ON upstream_user_tokens (org_id, subject);
CREATE INDEX upstream_user_tokens_expiring ON upstream_user_tokens (expires_at);
