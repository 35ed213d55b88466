-- Who registered an upstream: `user:<id>`, `token:<id>` or `dev` (the audit actor).
ALTER TABLE upstreams ADD COLUMN created_by TEXT;
