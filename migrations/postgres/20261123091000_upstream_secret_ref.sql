-- Upstreams may take their credential from an org secret instead of carrying their own.

ALTER TABLE upstreams ADD COLUMN auth_secret_id TEXT;
