-- Issue 16 (docs/design.md "Silences and acknowledgement").

-- A silence: failures whose labels match every one of its matchers (glob patterns on platform, group,
-- process, error_type, fingerprint; a JSON object) between starts_at and ends_at are stored and shown, never
-- notified. kind 'ack' is an acknowledgement: matchers hold only the issue's fingerprint, ends_at is NULL,
-- and it lasts until the issue resolves or regresses (silences/store.py end_acks sets expired_at then).
-- Expiring a silence early sets expired_at; rows are never deleted, so what was silenced stays explained.
CREATE TABLE IF NOT EXISTS silences (
    id           BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    kind         VARCHAR(16)   NOT NULL,
    matchers     TEXT          NOT NULL,
    -- An ack's fingerprint (NULL for a silence): finds the acks to end when the issue changes state.
    fingerprint  CHAR(16)      NULL,
    starts_at    DATETIME(6)   NOT NULL,
    ends_at      DATETIME(6)   NULL,
    comment      TEXT          NOT NULL,
    created_by   VARCHAR(255)  NOT NULL,
    created_at   DATETIME(6)   NOT NULL,
    expired_at   DATETIME(6)   NULL,
    -- The signed action link that created it (sha256 of the token): a second POST of the link finds it here
    -- instead of creating another; unique, so two POSTs at once create one.
    action_key   CHAR(64)      NULL,
    CONSTRAINT uq_silences_action UNIQUE (action_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Dispatch reads the silences in effect once per pass: not expired early, not over yet.
CREATE INDEX IF NOT EXISTS ix_silences_active ON silences (expired_at, ends_at);
CREATE INDEX IF NOT EXISTS ix_silences_fingerprint ON silences (fingerprint, kind);

-- alert_outbox.state gains 'silenced': the failure's group matched a silence when it was dispatched, so it
-- was neither alerted nor counted against the repeat interval. silence_id names that silence.
ALTER TABLE alert_outbox ADD COLUMN IF NOT EXISTS silence_id BIGINT NULL;

-- The installation's secret key, created once like installation_id: signs action links (HMAC-SHA256).
-- OTELMON_SECRET_KEY, when set, is used instead.
ALTER TABLE installation ADD COLUMN IF NOT EXISTS secret_key VARCHAR(128) NULL;
