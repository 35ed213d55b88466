-- HTTP tools: a request body held by one argument (JSON or a form), and the answer's schema.
ALTER TABLE http_tools ADD COLUMN body TEXT;
ALTER TABLE http_tools ADD COLUMN output_schema TEXT;
