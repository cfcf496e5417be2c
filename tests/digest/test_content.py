"""The digest email from given rows: summary, sections, escaping, the row limit and the 100 KB ceiling."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from email import message_from_bytes, policy

import pytest

from otelmon.config import Settings
from otelmon.digest.compose import compose_digest
from otelmon.digest.content import allot_rows
from otelmon.digest.options import parse_window
from otelmon.email.message import MAX_EMAIL_BYTES

NOW = datetime(2026, 11, 22, 9, 30)
SETTINGS = Settings(grafana_url="http://grafana.example:3000", smtp_mail_from="otelmon@example.com")


class Row:
    """Stands in for a result row of get_new_failed_processes.sql (attributes and ``_mapping``)."""

    _ids = iter(range(1, 10**9))

    def __init__(self, **values) -> None:
        end = values.pop("end_time", NOW - timedelta(hours=1))
        self.__dict__.update(
            id=next(self._ids), fingerprint="f" * 16, platform="airflow", group_name="billing", process_name="load",
            run_id="scheduled__2026-11-22", try_number=1, trace_id="ab" * 16, host=None, error_type="ValueError",
            error_message="bad row", start_time=end - timedelta(seconds=30), end_time=end, alert_state="alerted",
        )
        self.__dict__.update(values)

    @property
    def _mapping(self) -> dict:
        return {k: v for k, v in self.__dict__.items()}


def compose(rows, row_limit=50, window=timedelta(hours=24)):
    return compose_digest(rows, SETTINGS, digest_id=7, recipients=["team@example.com"], window_start=NOW - window,
                          window_end=NOW, window=window, row_limit=row_limit)


@pytest.mark.parametrize(("counts", "limit", "expected"), [
    ([3, 2], 10, [3, 2]),
    ([100, 1, 1], 10, [8, 1, 1]),
    ([10, 10, 10], 10, [4, 3, 3]),
    ([5, 5], 0, [0, 0]),
    ([1, 1, 1, 1], 2, [1, 1, 0, 0]),
])
def test_rows_are_shared_fairly_between_groups(counts, limit, expected):
    assert allot_rows(counts, limit) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("24h", timedelta(hours=24)), ("90m", timedelta(minutes=90)), ("2d", timedelta(days=2)),
    ("3600s", timedelta(hours=1)), ("12", timedelta(hours=12)), ("1.5h", timedelta(minutes=90)),
])
def test_window_spellings(text, expected):
    assert parse_window(text) == expected


@pytest.mark.parametrize("text", ["", "0h", "-1h", "24 hours", "h"])
def test_bad_windows_are_refused(text):
    with pytest.raises(ValueError):
        parse_window(text)


def test_summary_counts_platforms_groups_first_last_and_frequent_errors():
    rows = [
        Row(platform="airflow", group_name="billing", process_name="extract", error_type="TimeoutError",
            error_message="db timed out", end_time=NOW - timedelta(hours=20)),
        Row(platform="airflow", group_name="billing", process_name="load", error_type="TimeoutError",
            error_message="db timed out", end_time=NOW - timedelta(hours=2)),
        Row(platform="nifi", group_name="ingest", process_name="PutSQL", error_type="SQLException",
            error_message="duplicate key", end_time=NOW - timedelta(minutes=5), alert_state="suppressed"),
    ]
    context = compose(rows).context
    assert context["total"] == 3 and context["group_total"] == 2
    assert context["platforms"] == [("airflow", 2), ("nifi", 1)]
    assert context["first"]["process"] == "extract" and context["last"]["process"] == "PutSQL"
    assert context["top_errors"][0] == {"error_type": "TimeoutError", "message": "db timed out", "count": 2,
                                        "groups": 1}
    assert context["suppressed_total"] == 1
    assert [(s["platform"], s["group"], s["count"]) for s in context["sections"]] == [
        ("airflow", "billing", 2), ("nifi", "ingest", 1)]


def test_user_strings_are_escaped_and_headers_stay_one_line():
    rows = [Row(group_name="evil\r\nBcc: victim@example.com", process_name="<script>alert(1)</script>",
                error_message='<img src=x onerror="steal()"> & more')]
    composed = compose(rows)
    raw = composed.email.data
    parsed = message_from_bytes(raw, policy=policy.default)
    assert parsed["Bcc"] is None
    assert "\n" not in parsed["Subject"] and "\r" not in parsed["Subject"]
    html = composed.html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<img" not in html and "&lt;img src=x" in html
    assert "<script>alert(1)</script>" in composed.text  # the plain part shows the text as it is


def test_every_row_has_its_times_duration_error_and_trace_link():
    row = Row(process_name="transform", run_id="manual__2026-11-22T09:00", error_type="KeyError",
              error_message="'customer_id'", start_time=NOW - timedelta(minutes=3, seconds=5),
              end_time=NOW - timedelta(minutes=1), trace_id="0af7651916cd43dd8448eb211c80319c")
    composed = compose([row])
    html = composed.html
    assert "2026-11-22 09:26:55 → 09:29:00 UTC" in html and "2 min 05 s" in html
    assert "KeyError" in html and "'customer_id'" in html and "manual__2026-11-22T09:00" in html
    assert "0af7651916cd43dd8448eb211c80319c" in html and "http://grafana.example:3000/explore?" in html
    assert "trace 0af7651916cd43dd8448eb211c80319c" in composed.text


def test_beyond_the_row_limit_the_rest_is_counted_and_linked():
    rows = [Row(process_name=f"task_{n}", end_time=NOW - timedelta(minutes=n)) for n in range(30)]
    composed = compose(rows, row_limit=10)
    assert composed.context["listed"] == 10 and composed.context["not_listed"] == 20
    assert "20 more in this group" in composed.html
    assert "- task_0 " in composed.text and "- task_29 " not in composed.text  # newest listed first
    assert "otelmon-failures?from=" in composed.html and "var-group=billing" in composed.html


def test_a_large_digest_stays_under_100_kb():
    rng = random.Random(4)
    rows = [
        Row(platform=rng.choice(["airflow", "nifi", "spark"]), group_name=f"group_{rng.randrange(400)}",
            process_name=f"task_{n}_" + "x" * 200, run_id="r" * 250, error_type="E" * 200,
            error_message="".join(rng.choice("abc <>&\"'\n") for _ in range(301)),
            end_time=NOW - timedelta(seconds=rng.randrange(86000)))
        for n in range(5000)
    ]
    composed = compose(rows, row_limit=1000)
    assert composed.size <= MAX_EMAIL_BYTES
    assert 0 < composed.context["listed"] < 5000
    assert composed.context["total"] == 5000
    assert "on the failures dashboard" in composed.html
