-- Where the console that started an authorization continues once the callback has run (a
-- console path Gatehouse made itself; NULL for flows started over the API, which answer JSON).

ALTER TABLE upstream_oauth_flows ADD COLUMN return_to TEXT;
