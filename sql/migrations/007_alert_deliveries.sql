-- Notification channels (docs/design.md "Notification channels"): an alert is delivered to every target
-- its route names (an email list, a Slack channel, a PagerDuty service, ...), each with its own tries,
-- backoff and last error, so one channel down never delays or repeats another.
-- state: pending -> sending -> sent | failed | cancelled
CREATE TABLE IF NOT EXISTS alert_deliveries (
    id               BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    alert_id         BIGINT        NOT NULL,
    receiver         VARCHAR(128)  NOT NULL,
    integration      VARCHAR(32)   NOT NULL,
    -- Which entry of the receiver's list for that integration (a receiver may have two Slack channels).
    target           INT           NOT NULL,
    state            VARCHAR(16)   NOT NULL,
    attempts         INT           NOT NULL,
    next_attempt_at  DATETIME(6)   NOT NULL,
    -- While state = sending: when another sender may take the delivery over (this one died).
    lease_until      DATETIME(6)   NULL,
    last_error       TEXT          NULL,
    -- What the vendor called the message (a Slack ts, a Telegram message id, a Message-ID, a dedup key):
    -- a repeat or the recovery of the same fingerprint joins it.
    reference        VARCHAR(255)  NULL,
    -- The reference of the first message of the thread this one joined (its own, for a first message).
    thread           VARCHAR(255)  NULL,
    created_at       DATETIME(6)   NOT NULL,
    sent_at          DATETIME(6)   NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE UNIQUE INDEX IF NOT EXISTS ux_alert_deliveries_target ON alert_deliveries (alert_id, receiver, integration, target);
CREATE INDEX IF NOT EXISTS ix_alert_deliveries_state_next ON alert_deliveries (state, next_attempt_at);

-- The route that owns an alert (its first match, e.g. "routes[2]", or "default"): a route's own storm cap
-- counts only its alerts, so one team's storm does not hold back another team's.
ALTER TABLE alerts ADD COLUMN IF NOT EXISTS route VARCHAR(64) NULL;
CREATE INDEX IF NOT EXISTS ix_alerts_route_created ON alerts (route, created_at);

-- Set once an alert's deliveries exist: the sender looks for alerts to route by (state, routed, due), not by
-- reading every pending alert whose deliveries wait for a retry.
ALTER TABLE alerts ADD COLUMN IF NOT EXISTS routed BOOLEAN NOT NULL DEFAULT 0;
CREATE INDEX IF NOT EXISTS ix_alerts_routing ON alerts (state, routed, next_attempt_at);
