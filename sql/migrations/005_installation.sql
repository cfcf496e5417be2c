-- Issue 13 (docs/design.md "Email", "Immediate alerts").

-- The installation: one row (id = 1) holding a random id created once, on first start, by whichever
-- process inserts it first (INSERT IGNORE on the primary key: concurrent starters agree). It is part of
-- every Message-ID, so two installations, or one whose database was reset, never send the same one.
CREATE TABLE IF NOT EXISTS installation (
    id               INT           NOT NULL PRIMARY KEY,
    installation_id  VARCHAR(64)   NOT NULL,
    created_at       DATETIME(6)   NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- alerts.recipients changes meaning, not type: recipients are resolved from the current configuration
-- when an alert is sent (alerting/routing.py, on the platform and group of its failures, reachable through
-- head_failure_id and alert_outbox.alert_id), no longer frozen at dispatch. The column now records whom
-- the alert was last sent to (JSON list); '[]' until it is sent.
-- alerts.state gains: unroutable (no recipient for it: waits, no attempt counted, until configuration
-- provides one; last_error says which) and cancelled (never sent; `otelmon alerts resend` revives it).
-- Both are found through ix_alerts_state_next.
