-- Cheaper outbox writes (issue 3: ingest with alerting on keeps pace with ingest without it).

-- The ingest writer enqueues and reads back the failures it created in one statement
-- (INSERT ... SELECT ... RETURNING failure_id, ingest_id), which needs the ingest id here.
-- NULL on rows enqueued before this migration.
ALTER TABLE alert_outbox ADD COLUMN IF NOT EXISTS ingest_id CHAR(32) NULL;

-- The dispatcher finds a group's members by group_key alone (a trace has a handful of failures), so the
-- index need not hold the state: with it, every state change of an outbox row rewrote this index too.
DROP INDEX IF EXISTS ix_alert_outbox_group ON alert_outbox;
CREATE INDEX IF NOT EXISTS ix_alert_outbox_group_key ON alert_outbox (group_key);
