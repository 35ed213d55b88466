-- An upstream's request headers are sealed like its credential and environment (they often
-- carry API keys). `request_headers` is left empty ('{}'); rows written before this are sealed
-- at start (keyring::seal_plain_upstream_headers), which then empties the old column.

ALTER TABLE upstreams ADD COLUMN headers_sealed TEXT;
