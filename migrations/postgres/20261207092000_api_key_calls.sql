-- A key's usage count is what its seed says: the request-code calls made with it, which decide
-- whether it may be deleted. Its MCP traffic is counted apart, with when it was last used.

ALTER TABLE api_keys ADD COLUMN call_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE api_keys ADD COLUMN last_used_at BIGINT;
