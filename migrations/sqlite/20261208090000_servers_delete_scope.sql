-- Deleting a server became its own scope (servers:delete); tokens that could delete servers
-- under servers:write keep that right.
UPDATE management_tokens
SET scopes = scopes || ' servers:delete'
WHERE (' ' || scopes || ' ') LIKE '% servers:write %'
  AND (' ' || scopes || ' ') NOT LIKE '% servers:delete %';
