-- Immediate alerts (docs/design.md "Immediate alerts"): an outbox row per new failure, committed in the same
-- transaction as the failure; alerts are the emails (or storm summaries) the worker sends from it.

-- One row per new failure: the intent to alert. state: new -> alerted | suppressed | held -> summarized
CREATE TABLE IF NOT EXISTS alert_outbox (
    failure_id   BIGINT       NOT NULL PRIMARY KEY,
    -- Failures of one trace (or, without a trace, of one identity) share one email.
    group_key    CHAR(32)     NOT NULL,
    fingerprint  CHAR(16)     NOT NULL,
    created_at   DATETIME(6)  NOT NULL,
    -- created_at + group wait: the group is dispatched once its oldest member is due.
    due_at       DATETIME(6)  NOT NULL,
    state        VARCHAR(16)  NOT NULL,
    alert_id     BIGINT       NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE INDEX IF NOT EXISTS ix_alert_outbox_state_due ON alert_outbox (state, due_at);
CREATE INDEX IF NOT EXISTS ix_alert_outbox_group ON alert_outbox (group_key, state);
CREATE INDEX IF NOT EXISTS ix_alert_outbox_alert ON alert_outbox (alert_id);

-- One row per email. kind: failure | summary. state: pending -> sending -> sent | failed
CREATE TABLE IF NOT EXISTS alerts (
    id                BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    kind              VARCHAR(16)   NOT NULL,
    group_key         CHAR(32)      NULL,
    fingerprint       CHAR(16)      NULL,
    head_failure_id   BIGINT        NULL,
    failure_count     INT           NOT NULL,
    -- Repeats of this fingerprint suppressed since its previous email, shown in this one.
    suppressed_count  INT           NOT NULL,
    recipients        TEXT          NOT NULL,
    subject           VARCHAR(255)  NULL,
    message_id        VARCHAR(255)  NULL,
    state             VARCHAR(16)   NOT NULL,
    attempts          INT           NOT NULL,
    next_attempt_at   DATETIME(6)   NOT NULL,
    -- While state = sending: when another worker may take the alert over (the sender died).
    lease_until       DATETIME(6)   NULL,
    last_error        TEXT          NULL,
    created_at        DATETIME(6)   NOT NULL,
    sent_at           DATETIME(6)   NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE INDEX IF NOT EXISTS ix_alerts_state_next ON alerts (state, next_attempt_at);
CREATE INDEX IF NOT EXISTS ix_alerts_created ON alerts (created_at, kind);
CREATE INDEX IF NOT EXISTS ix_alerts_fingerprint ON alerts (fingerprint, created_at);

-- Throttling state per fingerprint: when it was last emailed and how many repeats were held back since.
CREATE TABLE IF NOT EXISTS alert_fingerprints (
    fingerprint       CHAR(16)     NOT NULL PRIMARY KEY,
    last_alerted_at   DATETIME(6)  NOT NULL,
    suppressed_count  INT          NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
