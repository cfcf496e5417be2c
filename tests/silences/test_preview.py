"""The preview of a silence before it is made (both databases): the issues its matchers match now, with the
globs' exact, case-sensitive meaning even where the database's collation or LIKE would say otherwise."""

from __future__ import annotations

from datetime import timedelta

import pytest

from otelmon.silences import preview as previews
from otelmon.silences.preview import preview
from tests.alerting.conftest import open_db
from tests.digest.seed import failure, store


@pytest.fixture
def db(database_url):
    engine, tables, _ = open_db(database_url)
    store(engine, [
        failure("load", group="billing_daily", ended_ago=timedelta(hours=3)),
        failure("load", group="billing_weekly", ended_ago=timedelta(hours=1)),
        failure("load", group="Billing_monthly"),  # another case: not billing_*
        failure("load", group="billingXdaily"),  # LIKE's _ would take it for billing_daily
        failure("sync", group="sales", platform="nifi", error_type="KeyError"),
    ])
    yield engine, tables
    engine.dispose()


def shown(engine, tables, limit=10, **matchers):
    with engine.connect() as conn:
        found = preview(conn, tables, matchers, limit)
    return [row.group_name for row in found.issues], found.count, found.capped


def test_the_preview_matches_globs_exactly_most_recent_first(db):
    engine, tables = db
    assert shown(engine, tables, group="billing_*") == (["billing_weekly", "billing_daily"], 2, False)
    assert shown(engine, tables, group="billing_daily") == (["billing_daily"], 1, False)
    assert shown(engine, tables, group="billing?daily") == (["billingXdaily", "billing_daily"], 2, False)
    assert shown(engine, tables, group="*ing_*", platform="airflow", limit=1) == (["Billing_monthly"], 3, False)
    assert shown(engine, tables, error_type="Key*") == (["sales"], 1, False)
    assert shown(engine, tables, group="nothing*") == ([], 0, False)


def test_the_preview_finds_an_issue_by_its_fingerprint(db):
    engine, tables = db
    with engine.connect() as conn:
        (issue,) = preview(conn, tables, {"group": "sales"}).issues
        again = preview(conn, tables, {"fingerprint": issue.fingerprint})
    assert [r.id for r in again.issues] == [issue.id] and again.count == 1
    assert issue.process_name == "sync" and issue.occurrences == 1 and issue.last_failure_id is not None


def test_the_preview_reads_a_bounded_number_of_issues(db, monkeypatch):
    engine, tables = db
    monkeypatch.setattr(previews, "SCAN_LIMIT", 3)
    names, count, capped = shown(engine, tables, group="*")
    assert capped is True and count == 3 and len(names) == 3


@pytest.mark.parametrize("matchers", [{}, {"owner": "x"}, {"group": "  "}, {"group": "a[b"}])
def test_the_preview_checks_matchers_as_a_silence_does(db, matchers):
    engine, tables = db
    with engine.connect() as conn, pytest.raises(ValueError):
        preview(conn, tables, matchers)
