-- The digest history (docs/design.md "Digest"): one row per digest email. failures.digest_id points here and
-- records which failures each digest reported; a failure is claimed by exactly one digest.
-- state: claimed -> sent, or claimed -> send_failed -> claimed (the next run, CLI or DAG, takes a failed
-- send over at once; only a sender that died holds its lease), or after OTELMON_DIGEST_MAX_ATTEMPTS sends
-- given_up (its failures' digest_id is cleared, so the next digest reports them). A claimed row already
-- holds the complete message, so a run retried after a crash resends exactly what was claimed, with the
-- same Message-ID.
CREATE TABLE IF NOT EXISTS digests (
    id               BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    state            VARCHAR(16)   NOT NULL,
    -- Failures whose end_time >= window_start were eligible; window_end is when the claim ran.
    window_start     DATETIME(6)   NOT NULL,
    window_end       DATETIME(6)   NOT NULL,
    failure_count    INT           NOT NULL,
    -- JSON list of addresses.
    recipients       TEXT          NOT NULL,
    -- subject, message_id and message are written in the claim transaction, so never NULL once committed.
    subject          VARCHAR(255)  NULL,
    message_id       VARCHAR(255)  NULL,
    message          MEDIUMTEXT    NULL,
    message_bytes    INT           NULL,
    -- Who may send it now: its claimer, or anyone once lease_until has passed (the claimer died).
    claimed_by       VARCHAR(255)  NOT NULL,
    lease_until      DATETIME(6)   NOT NULL,
    attempts         INT           NOT NULL,
    last_error       TEXT          NULL,
    claimed_at       DATETIME(6)   NOT NULL,
    last_attempt_at  DATETIME(6)   NULL,
    sent_at          DATETIME(6)   NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE INDEX IF NOT EXISTS ix_digests_state ON digests (state, id);
CREATE INDEX IF NOT EXISTS ix_digests_claimed_at ON digests (claimed_at);
