-- Whom a policy applies to: glob patterns over the caller's identities (a signed-in person's
-- e-mail, `key:<id>`, `client:<id>`, `connection:<id>`), as a JSON array; NULL for everyone.

ALTER TABLE policies ADD COLUMN callers TEXT;
