-- Retry-aware alerting and recovery notices (docs/design.md "Pipeline runs, issues and the alert policy").

-- Copied from the failure when the outbox row is written: dispatch holds a try the scheduler will retry
-- without reading the failure (a storm is thousands of rows).
ALTER TABLE alert_outbox ADD COLUMN IF NOT EXISTS will_retry BOOLEAN NOT NULL DEFAULT 0;

-- The recovery notice that told this alert's receivers its issue resolved (kind = 'recovery' alert): set
-- once, so a notice is sent once however many replicas look.
ALTER TABLE alerts ADD COLUMN IF NOT EXISTS recovered_by BIGINT NULL;

-- Dispatch looks up the later tries of a held try's run.
CREATE INDEX IF NOT EXISTS ix_runs_run ON runs (run_id, try_number);

-- The alert of a run's last try lists the run's earlier tries.
CREATE INDEX IF NOT EXISTS ix_failures_run ON failures (run_id, try_number);

-- Recovery notices: the alerts of a fingerprint not yet answered, and those a notice answers.
CREATE INDEX IF NOT EXISTS ix_alerts_fingerprint_recovery ON alerts (fingerprint, recovered_by, created_at);
CREATE INDEX IF NOT EXISTS ix_alerts_recovered_by ON alerts (recovered_by);
