-- Failed processes the next digest reports: ended inside the window and not in any earlier digest.
-- The window's start (UTC) is the one bound parameter, set by otelmon.digest.select; the claim marks
-- exactly these rows. (No colons before names in these comments: SQLAlchemy would take them for parameters.)
-- Index: ix_failures_unreported (digest_id, end_time) -> one range on (NULL, >= window start), read
-- backwards for the ORDER BY, so neither the older history nor reported rows are touched.
-- The message is clipped here: a digest shows 300 characters of it, and 5,000 rows of 64 KiB would not fit.
SELECT
    f.id,
    f.fingerprint,
    f.platform,
    f.group_name,
    f.process_name,
    f.run_id,
    f.try_number,
    f.trace_id,
    f.host,
    f.error_type,
    SUBSTR(f.error_message, 1, 301) AS error_message,
    f.start_time,
    f.end_time,
    -- The immediate alert's fate (new, alerted, suppressed, held, summarized); NULL with alerts off.
    o.state AS alert_state,
    -- The issue of the failure's fingerprint now (new, ongoing, resolved, regressed) and since when it fails.
    i.state AS issue_state,
    i.failing_since AS failing_since,
    i.consecutive_failed_runs AS consecutive_failed_runs,
    -- Recovered after retry: a try that was to be retried, and a later try of the same run succeeded
    -- (ix_runs_pipeline finds the run's tries).
    CASE WHEN f.will_retry = 1 AND f.run_id IS NOT NULL AND EXISTS (
        SELECT 1 FROM runs AS r
        WHERE r.platform = f.platform AND r.group_name = f.group_name AND r.process_name = f.process_name
          AND r.run_id = f.run_id AND r.outcome = 'success' AND r.try_number > f.try_number
          AND r.end_time >= f.end_time
    ) THEN 1 ELSE 0 END AS recovered
FROM failures AS f
LEFT JOIN alert_outbox AS o ON o.failure_id = f.id
LEFT JOIN issues AS i ON i.fingerprint = f.fingerprint
WHERE f.digest_id IS NULL
  AND f.end_time >= :window_start
ORDER BY f.end_time DESC, f.id DESC
