-- A policy is identified by its tool pattern and whom it applies to (its sorted callers as
-- JSON, '' for everyone), so that one tool pattern can carry different limits for different
-- callers (e.g. per entitlement category).
ALTER TABLE policies ADD COLUMN callers_key TEXT NOT NULL DEFAULT '';
UPDATE policies SET callers_key = COALESCE(callers, '');
ALTER TABLE policies DROP CONSTRAINT policies_server_id_tool_pattern_key;
ALTER TABLE policies ADD CONSTRAINT policies_server_id_tool_pattern_callers_key UNIQUE (server_id, tool_pattern, callers_key);
