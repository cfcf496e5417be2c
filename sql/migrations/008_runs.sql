-- Issue 16 (docs/design.md, "Pipeline runs, issues and the alert policy").

-- One row per task try, whatever its outcome: the collector forwards every task-level span. A redelivered
-- try is stored once (identity_key: the same key as the try's failure, so a failed run finds its failure).
CREATE TABLE IF NOT EXISTS runs (
    id              BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    identity_key    CHAR(64)      NOT NULL,
    platform        VARCHAR(64)   NOT NULL,
    group_name      VARCHAR(255)  NOT NULL,
    process_name    VARCHAR(255)  NOT NULL,
    run_id          VARCHAR(255)  NULL,
    try_number      INT           NULL,
    start_time      DATETIME(6)   NOT NULL,
    end_time        DATETIME(6)   NOT NULL,
    -- success | failed | failed_will_retry (failed, and the scheduler will try again)
    outcome         VARCHAR(32)   NOT NULL,
    trace_id        CHAR(32)      NULL,
    span_id         CHAR(16)      NULL,
    -- The failure's fingerprint when the try failed.
    fingerprint     CHAR(16)      NULL,
    received_at     DATETIME(6)   NOT NULL,
    -- The request that first stored the row; tells a new run from a redelivered one.
    ingest_id       CHAR(32)      NOT NULL,
    CONSTRAINT uq_runs_identity UNIQUE (identity_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Retention prunes by end time; the digest's "recovered after retry" looks up the later tries of a run.
CREATE INDEX IF NOT EXISTS ix_runs_end_time ON runs (end_time);
CREATE INDEX IF NOT EXISTS ix_runs_pipeline ON runs (platform, group_name, process_name, end_time);
CREATE INDEX IF NOT EXISTS ix_runs_ingest ON runs (ingest_id);

-- The failing try will be retried (span attribute otelmon.will_retry, Airflow's up_for_retry): alerting may
-- hold it until the last try tells. 0 on rows stored before this migration.
ALTER TABLE failures ADD COLUMN IF NOT EXISTS will_retry BOOLEAN NOT NULL DEFAULT 0;
