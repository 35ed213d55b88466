-- OpenAPI imports: a document imported into a server, and the tools it made.
CREATE TABLE openapi_imports (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    server_id   TEXT NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    title       TEXT NOT NULL,
    source_url  TEXT,
    base_url    TEXT,
    selection   TEXT NOT NULL,
    credentials TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX openapi_imports_server ON openapi_imports (org_id, server_id);
ALTER TABLE http_tools ADD COLUMN import_id TEXT REFERENCES openapi_imports (id) ON DELETE CASCADE;
ALTER TABLE http_tools ADD COLUMN operation TEXT;
CREATE INDEX http_tools_import ON http_tools (import_id);
