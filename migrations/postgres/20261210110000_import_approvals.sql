-- A re-imported operation whose definition changed (or that is new) waits for approval, unless
-- its import approves automatically.
ALTER TABLE http_tools ADD COLUMN approval_state TEXT NOT NULL DEFAULT 'approved';
ALTER TABLE openapi_imports ADD COLUMN approval_policy TEXT NOT NULL DEFAULT 'manual';
