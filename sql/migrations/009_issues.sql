-- Issue 16 (docs/design.md, "Pipeline runs, issues and the alert policy").

-- The life of one fingerprint: new -> ongoing (fails again) -> resolved (a later successful run of the same
-- platform/group/process) -> regressed (fails after being resolved) -> ongoing ... Kept up to date in the
-- ingest transaction (otelmon.issues); one row per fingerprint, never pruned (as few as distinct errors).
CREATE TABLE IF NOT EXISTS issues (
    id                      BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    fingerprint             CHAR(16)      NOT NULL,
    -- sha256 prefix of (platform, group, process): a success of that step resolves its open issues.
    pipeline_key            CHAR(16)      NOT NULL,
    -- new | ongoing | resolved | regressed
    state                   VARCHAR(16)   NOT NULL,
    -- Of the latest failure.
    platform                VARCHAR(64)   NOT NULL,
    group_name              VARCHAR(255)  NOT NULL,
    process_name            VARCHAR(255)  NOT NULL,
    error_type              VARCHAR(255)  NULL,
    last_failure_id         BIGINT        NULL,
    -- End times of the first and latest failure.
    first_seen              DATETIME(6)   NOT NULL,
    last_seen               DATETIME(6)   NOT NULL,
    occurrences             BIGINT        NOT NULL DEFAULT 0,
    -- Failed runs since the issue (re)opened; a try that will be retried is not a failed run.
    consecutive_failed_runs INT           NOT NULL DEFAULT 0,
    -- End of the first failure since the issue (re)opened; NULL while resolved.
    failing_since           DATETIME(6)   NULL,
    -- End of the successful run that resolved it; NULL while open.
    resolved_at             DATETIME(6)   NULL,
    -- success | failed | failed_will_retry: the latest run of the step this issue has seen.
    last_run_outcome        VARCHAR(32)   NULL,
    -- When the state last changed (the API's clock): "resolved since" queries for recovery notices.
    state_changed_at        DATETIME(6)   NOT NULL,
    CONSTRAINT uq_issues_fingerprint UNIQUE (fingerprint)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE INDEX IF NOT EXISTS ix_issues_pipeline ON issues (pipeline_key, state);
CREATE INDEX IF NOT EXISTS ix_issues_last_seen ON issues (last_seen);
CREATE INDEX IF NOT EXISTS ix_issues_state_changed ON issues (state, state_changed_at);
