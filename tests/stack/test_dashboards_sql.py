"""Every SQL query of the provisioned dashboards runs on MariaDB, as Grafana's read-only user,
with Grafana's macros and the dashboard variables expanded, and returns the rows it is for."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pymysql
import pytest
import yaml

from tests.stack.conftest import StackDatabase
from tests.stack.grafana_queries import expand_sql, queries
from tests.stack.stack_paths import DATASOURCES

NOW = datetime.now(timezone.utc).replace(microsecond=0)
RANGE = (NOW - timedelta(hours=6), NOW + timedelta(minutes=1))
# "All" is the quoted sentinel the variables declare as allValue; then one and two concrete values.
SELECTIONS = {
    "all": {"platform": "'__all'", "group": "'__all'"},
    "one": {"platform": "'airflow'", "group": "'daily_sales'"},
    "several": {"platform": "'airflow','nifi'", "group": "'daily_sales','ingest_orders'"},
}
SQL_QUERIES = queries("mariadb")


def _rows() -> list[tuple]:
    rows = []
    for i, (platform, group, process, error_type, digest) in enumerate(
        [
            ("airflow", "daily_sales", "load", "ValueError", 1),
            ("airflow", "daily_sales", "load", "ValueError", None),
            ("airflow", "daily_sales", "extract", "TimeoutError", None),
            ("nifi", "ingest_orders", "ExecuteScript", "KeyError", None),
        ]
    ):
        end = NOW - timedelta(minutes=10 * (i + 1))
        rows.append(
            (
                f"{i:064x}",
                f"{i:016x}",
                platform,
                group,
                process,
                f"run_{i}",
                1,
                f"{i:032x}",
                f"{i:016x}",
                "svc",
                process,
                "worker-1",
                error_type,
                f"<b>boom</b> {i}",
                "Traceback ...",
                end - timedelta(seconds=42, microseconds=123),
                end,
                end,
                f"{i:032x}",
                digest,
            )
        )
    return rows


@pytest.fixture(scope="module")
def seeded(stack_db: StackDatabase) -> StackDatabase:
    sent = NOW - timedelta(minutes=9)
    with stack_db.app() as conn, conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO failures (identity_key, fingerprint, platform, group_name, process_name, run_id, try_number,"
            " trace_id, span_id, service_name, span_name, host, error_type, error_message, stacktrace, start_time,"
            " end_time, received_at, ingest_id, digest_id)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            _rows(),
        )
        # One issue per seeded fingerprint: resolved, new, ongoing (failing since 40 min), regressed.
        cur.executemany(
            "INSERT INTO issues (fingerprint, pipeline_key, state, platform, group_name, process_name, error_type,"
            " first_seen, last_seen, occurrences, consecutive_failed_runs, failing_since, resolved_at,"
            " last_run_outcome, state_changed_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [(row[1], row[1], state, row[2], row[3], row[4], row[12], row[16], row[16], 1, runs,
              None if state == "resolved" else NOW - timedelta(minutes=40), NOW if state == "resolved" else None,
              "success" if state == "resolved" else "failed", NOW)
             for row, (state, runs) in zip(_rows(), [("resolved", 0), ("new", 1), ("ongoing", 3), ("regressed", 1)],
                                           strict=True)],
        )
        cur.execute("SELECT MIN(id) FROM failures")
        (head,) = cur.fetchone()
        cur.execute(
            "INSERT INTO alerts (kind, group_key, fingerprint, head_failure_id, failure_count, suppressed_count,"
            " recipients, subject, message_id, state, attempts, next_attempt_at, created_at, sent_at)"
            " VALUES ('failure', %s, %s, %s, 1, 2, '[\"team@example.com\"]', '[OtelMon] FAILED airflow',"
            " '<a1@otelmon>', 'sent', 1, %s, %s, %s)",
            ("0" * 32, "0" * 16, head, sent, sent, sent),
        )
        cur.execute(
            "INSERT INTO digests (state, window_start, window_end, failure_count, recipients, subject, message_id,"
            " claimed_by, lease_until, attempts, claimed_at, sent_at)"
            " VALUES ('sent', %s, %s, 1, '[\"team@example.com\"]', '[OtelMon] digest', '<d1@otelmon>', 'test',"
            " %s, 1, %s, %s)",
            (NOW - timedelta(hours=24), sent, sent, sent, sent),
        )
    return stack_db


def test_dashboards_have_sql_queries() -> None:
    assert len(SQL_QUERIES) >= 8


def test_mariadb_datasource_session_is_utc() -> None:
    datasource = next(d for d in yaml.safe_load(DATASOURCES.read_text())["datasources"] if d["uid"] == "mariadb")
    assert datasource["jsonData"]["timezone"] == "+00:00"


@pytest.mark.parametrize("selection", sorted(SELECTIONS))
@pytest.mark.parametrize("query", SQL_QUERIES, ids=lambda q: f"{q.dashboard}:{q.panel}")
def test_query_runs_as_the_grafana_reader(seeded: StackDatabase, query, selection: str) -> None:
    sql = expand_sql(query.text, *RANGE, SELECTIONS[selection])
    with seeded.reader() as conn, conn.cursor() as cur:
        # What the datasource's "timezone" setting makes Grafana do for each session.
        cur.execute("SET time_zone = '+00:00'")
        try:
            cur.execute(sql)
        except pymysql.MySQLError as exc:
            pytest.fail(f"{query.dashboard} / {query.panel}: {exc}\n{sql}")
        rows = cur.fetchall()
    # The seeded failures touch every panel: an empty answer means a wrong filter or column.
    assert rows, f"{query.dashboard} / {query.panel} returned nothing:\n{sql}"


def test_recent_failures_are_newest_first_and_filtered(seeded: StackDatabase) -> None:
    query = next(q for q in SQL_QUERIES if q.panel == "Recent failures")
    with seeded.reader() as conn, conn.cursor(pymysql.cursors.DictCursor) as cur:
        cur.execute(expand_sql(query.text, *RANGE, SELECTIONS["one"]))
        rows = cur.fetchall()
    assert [r["process"] for r in rows] == ["load", "load", "extract"]
    assert rows[0]["time"] > rows[-1]["time"]
    assert float(rows[0]["duration"]) == pytest.approx(42.000123)
    assert len(rows[0]["trace_id"]) == 32


def test_time_filter_excludes_failures_outside_the_range(seeded: StackDatabase) -> None:
    query = next(q for q in SQL_QUERIES if q.panel == "Failures" and q.dashboard == "failures.json")
    with seeded.reader() as conn, conn.cursor() as cur:
        cur.execute(expand_sql(query.text, NOW - timedelta(minutes=25), NOW, SELECTIONS["all"]))
        (count,) = cur.fetchone()
    assert count == 2


def test_recent_failures_show_their_issue_and_the_issues_panel_lists_open_ones_first(seeded: StackDatabase) -> None:
    recent = next(q for q in SQL_QUERIES if q.panel == "Recent failures")
    issues = next(q for q in SQL_QUERIES if q.panel == "Issues")
    with seeded.reader() as conn, conn.cursor(pymysql.cursors.DictCursor) as cur:
        cur.execute(expand_sql(recent.text, *RANGE, SELECTIONS["one"]))
        assert [(r["process"], r["issue"]) for r in cur.fetchall()] == [
            ("load", "resolved"), ("load", "new"), ("extract", "ongoing")]
        cur.execute(expand_sql(issues.text, *RANGE, SELECTIONS["all"]))
        rows = cur.fetchall()
        assert [(r["state"], r["process"]) for r in rows] == [
            ("regressed", "ExecuteScript"), ("new", "load"), ("ongoing", "extract"), ("resolved", "load")]
        assert rows[2]["failed_runs_in_a_row"] == 3 and rows[2]["failing_since"] is not None
        # A resolved issue last seen before the range is left out; open ones stay whatever the range.
        cur.execute(expand_sql(issues.text, NOW - timedelta(minutes=5), NOW, SELECTIONS["all"]))
        assert [r["state"] for r in cur.fetchall()] == ["regressed", "new", "ongoing"]
