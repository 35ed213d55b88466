-- The definition of an upstream tool as it was when approved, so that a changed definition can
-- be shown beside the approved one before it is approved again. NULL until approved (and for
-- tools approved before this column: filled at their next refresh while unchanged).

ALTER TABLE upstream_tools ADD COLUMN approved_definition TEXT;
