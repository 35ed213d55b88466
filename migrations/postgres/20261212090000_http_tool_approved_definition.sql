-- What an imported tool was when last approved, kept while a re-import's change of it waits for
-- approval, so the change can be reviewed side by side.
ALTER TABLE http_tools ADD COLUMN approved_definition TEXT;
