-- The OAuth client-credentials grant (token URL, client id, scope) a tool gets its token with.
ALTER TABLE http_tools ADD COLUMN auth_oauth TEXT;
