"""Alert views for the integrations' tests: an ordinary one, a hostile one (markup of every format, huge
text, non-ASCII), a regressed one, a storm summary and a test message."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone

from otelmon.alerting.notify.base import AlertView

WHEN = datetime(2026, 12, 1, 9, 30, tzinfo=timezone.utc)
TRACE = "https://grafana.example.com/explore?schemaVersion=1&panes=%7B%7D&orgId=1"
FAILURES = "https://grafana.example.com/d/otelmon-failures"
MUTE = "https://otelmon.example.com/actions/bXV0ZQ.MDEyMzQ1Njc4OWFiY2RlZg.1767173400.c2ln"
ACK = "https://otelmon.example.com/actions/YWNr.MDEyMzQ1Njc4OWFiY2RlZg.1767173400.c2ln"
# A public URL with every character a channel's markup reads: & < > " ) ( | ` and a space.
MARKUP_BASE = 'https://otelmon.example.com/a&b<c>d"e)f(g|h`i j'
# ...as every channel carries it: what RFC 3986 does not allow percent-encoded, the rest for each markup to escape.
MARKUP_SENT = "https://otelmon.example.com/a&b%3Cc%3Ed%22e)f(g%7Ch%60i%20j"
HOSTILE = ("<b>bold</b> *star* _under_ ~strike~ `tick` [link](http://evil.example) <@U123> <!channel> "
           "@everyone &amp; <script>alert(1)</script> | pipe # hash {{brace}} ${{ x }} \\ \"quote\" 'apos'")


# The ordinary alert's issue (naive UTC, as the database gives them) and the line every channel shows for it.
FAILING_SINCE = datetime(2026, 11, 28, 6, 0)
FIRST_SEEN = datetime(2026, 11, 20, 6, 0, 0, 250000)
ONGOING = {"state": "ongoing", "failing_since": FAILING_SINCE, "consecutive_failed_runs": 4, "occurrences": 9,
           "first_seen": FIRST_SEEN}
ONGOING_LINE = ("Failing since 2026-11-28 06:00:00.000 UTC, 4 failed runs in a row, "
                "seen 9 times since 2026-11-20 06:00:00.250 UTC.")
# ...in a display timezone: the local times in parentheses, which several markups read.
ONGOING_LINE_PARIS = ("Failing since 2026-11-28 06:00:00.000 UTC (2026-11-28 07:00:00 CET), 4 failed runs in a row, "
                      "seen 9 times since 2026-11-20 06:00:00.250 UTC (2026-11-20 07:00:00 CET).")
REGRESSED = {"state": "regressed", "failing_since": WHEN.replace(tzinfo=None), "consecutive_failed_runs": 1,
             "occurrences": 10, "first_seen": FIRST_SEEN}
REGRESSED_LINE = "Regressed: this error had recovered and is back; seen 10 times since 2026-11-20 06:00:00.250 UTC."


def failure(**overrides: object) -> dict:
    row = {
        "id": 7, "platform": "airflow", "group": "billing_daily", "process": "load_invoices",
        "run_id": "scheduled__2026-12-01T09:00:00+00:00", "try_number": 3,
        "start_time": WHEN, "end_time": WHEN, "duration_seconds": 12.5,
        "error_type": "ValueError", "error_message": "invoice 42 has no customer",
        "message_truncated": False, "stack_lines": ["Traceback (most recent call last):", '  File "x.py", line 1'],
        "stack_truncated": False, "log_lines": ["INFO loading 1200 invoices", "ERROR invoice 42 has no customer"],
        "log_truncated": False, "host": "worker-1", "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
        "trace_url": TRACE, "fingerprint": "0123456789abcdef",
    }
    row.update(overrides)
    return row


def ordinary() -> AlertView:
    head = failure()
    return AlertView(
        alert_id=101, kind="failure", title="FAILED airflow / billing_daily / load_invoices (+1 more in this trace)",
        fingerprint=head["fingerprint"], head=head,
        causes=[failure(id=8, process="load_invoices › parse", error_type="KeyError", error_message="'customer'",
                        stack_lines=[], log_lines=[])],
        failure_count=2, suppressed_count=3,
        labels={"platform": "airflow", "group": "billing_daily", "process": "load_invoices",
                "error_type": "ValueError", "owner": "data-team", "tags": "billing,finance"},
        links={"trace": TRACE, "failures": FAILURES, "mute": MUTE, "ack": ACK},
        created_at=WHEN, repeat_interval_seconds=3600, issue=dict(ONGOING),
    )


def regressed() -> AlertView:
    """``ordinary`` failing again after its issue had resolved."""
    return replace(ordinary(), title="REGRESSED airflow / billing_daily / load_invoices (+1 more in this trace)",
                   issue=dict(REGRESSED))


def in_paris(view: AlertView) -> AlertView:
    return replace(view, display_timezone="Europe/Paris")


def without_issue() -> AlertView:
    """``ordinary`` as sent before issues were tracked for it (or for a failure without a fingerprint)."""
    return replace(ordinary(), issue=None)


def without_actions() -> AlertView:
    """``ordinary`` as sent when no action link could be signed: trace and dashboard only."""
    return replace(ordinary(), links={"trace": TRACE, "failures": FAILURES})


def markup_links() -> AlertView:
    """``ordinary`` whose action links sit under a public URL full of markup characters."""
    return replace(ordinary(), links={"trace": TRACE, "failures": FAILURES, "mute": MARKUP_BASE + "/mute?x=1&y=2",
                                      "ack": MARKUP_BASE + "/ack"})


def hostile() -> AlertView:
    """Every string a vendor's markup could misread, and far more text than any vendor accepts."""
    long = HOSTILE + " 失敗しました" * 4000
    head = failure(platform=HOSTILE, group=HOSTILE, process=HOSTILE, error_type=HOSTILE, error_message=long,
                   stack_lines=[HOSTILE] * 200, log_lines=[long] * 50, host=HOSTILE,
                   run_id=HOSTILE)
    return AlertView(
        alert_id=102, kind="failure", title=f"FAILED {HOSTILE}", fingerprint="fedcba9876543210", head=head,
        causes=[failure(id=100 + n, process=HOSTILE, error_type=HOSTILE, error_message=long) for n in range(20)],
        more_causes=30, failure_count=51, suppressed_count=0,
        labels={"platform": HOSTILE, "group": HOSTILE, "process": HOSTILE, "error_type": HOSTILE,
                "owner": HOSTILE, "tags": HOSTILE},
        links={"trace": TRACE, "failures": FAILURES, "mute": MARKUP_BASE + "/mute", "ack": MARKUP_BASE + "/ack"},
        created_at=WHEN, repeat_interval_seconds=3600, issue=dict(ONGOING),
    )


def summary() -> AlertView:
    rows = [{"platform": "airflow", "group": f"dag_{n}", "process": "task", "error_type": "IOError",
             "error_message": f"disk full {HOSTILE}", "count": 100 - n} for n in range(50)]
    return AlertView(
        alert_id=103, kind="summary", title="250 more failures held back (over 20/min)", failure_count=250,
        summary_rows=rows, more_summary_rows=12, storm_cap=20,
        links={"failures": FAILURES}, created_at=WHEN,
    )


def test_message() -> AlertView:
    return AlertView(alert_id=0, kind="test", title="OtelMon test message: this receiver is set up",
                     created_at=WHEN)


def resolved() -> AlertView:
    """``ordinary`` recovered: it still carries the action links, which a recovery must not show; like every
    recovery notice, it has no issue line (the view builder gives it none)."""
    return replace(ordinary(), status="resolved", title="RECOVERED airflow / billing_daily / load_invoices",
                   issue=None)
