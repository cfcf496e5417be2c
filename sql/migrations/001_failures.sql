-- Failed spans: one row per failing task try (docs/design.md, "What a failure is").
-- MariaDB dialect. Every statement is idempotent: the API applies this file at start and MariaDB's
-- docker-entrypoint-initdb.d may have run it already. Times are UTC, DATETIME(6).
CREATE TABLE IF NOT EXISTS failures (
    id              BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    -- sha256 of (platform, group, process, run id, try) or of (trace id, span id): redeliveries collide here.
    identity_key    CHAR(64)      NOT NULL,
    -- sha256 prefix of (platform, group, process, error type): drives throttling and grouping.
    fingerprint     CHAR(16)      NOT NULL,
    platform        VARCHAR(64)   NOT NULL,
    group_name      VARCHAR(255)  NOT NULL,
    process_name    VARCHAR(255)  NOT NULL,
    run_id          VARCHAR(255)  NULL,
    try_number      INT           NULL,
    trace_id        CHAR(32)      NULL,
    span_id         CHAR(16)      NULL,
    parent_span_id  CHAR(16)      NULL,
    service_name    VARCHAR(255)  NULL,
    span_name       VARCHAR(255)  NOT NULL,
    host            VARCHAR(255)  NULL,
    error_type      VARCHAR(255)  NULL,
    error_message   MEDIUMTEXT    NULL,
    stacktrace      MEDIUMTEXT    NULL,
    start_time      DATETIME(6)   NOT NULL,
    end_time        DATETIME(6)   NOT NULL,
    received_at     DATETIME(6)   NOT NULL,
    -- The request that first stored the row; tells a new failure from a redelivered one.
    ingest_id       CHAR(32)      NOT NULL,
    attributes      MEDIUMTEXT    NULL,
    -- The digest that reported this failure; NULL until one does.
    digest_id       BIGINT        NULL,
    CONSTRAINT uq_failures_identity UNIQUE (identity_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE INDEX IF NOT EXISTS ix_failures_end_time ON failures (end_time);
-- "Last 24 h, not yet reported": equality on digest_id IS NULL, range on end_time.
CREATE INDEX IF NOT EXISTS ix_failures_unreported ON failures (digest_id, end_time);
CREATE INDEX IF NOT EXISTS ix_failures_pipeline ON failures (platform, group_name, process_name, end_time);
CREATE INDEX IF NOT EXISTS ix_failures_trace ON failures (trace_id);
CREATE INDEX IF NOT EXISTS ix_failures_ingest ON failures (ingest_id);
