-- Issue 19 item 1 (docs/design.md "What a failure is", "Email").

-- The last lines the failing try logged, masked by the instrumentation (span attribute otelmon.log.tail),
-- newline-separated, oldest first; NULL when the span carried none. A column of its own rather than a value
-- in `attributes`, whose strings are clipped to their first 4 KiB: the newest lines are the ones to keep.
ALTER TABLE failures ADD COLUMN IF NOT EXISTS log_tail MEDIUMTEXT NULL;
