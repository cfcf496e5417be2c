"""``otelmon alerts list|resend|cancel`` as a user runs it, on both databases."""

from __future__ import annotations

import os
import subprocess
import sys

from otelmon.alerting import delivery
from otelmon.alerting.dispatch import dispatch_due
from otelmon.clock import utcnow
from otelmon.storage.location import describe
from tests.alerting.conftest import open_db
from tests.digest.seed import failure, store
from tests.harness.mariadb import PASSWORD


def otelmon(database_url: str, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTELMON_")}
    return subprocess.run([sys.executable, "-m", "otelmon.cli", "alerts", *args], capture_output=True, text=True,
                          env={**env, "OTELMON_DATABASE_URL": database_url}, timeout=60)


def test_list_resend_and_cancel(database_url):
    engine, tables, nobody = open_db(database_url)
    store(engine, [failure("charge", group="billing"), failure("load", group="sales")])
    dispatch_due(engine, tables, nobody, utcnow())
    delivery.claim(engine, tables, nobody, utcnow())  # no recipients: both unroutable
    engine.dispose()

    listed = otelmon(database_url, "list")
    assert listed.returncode == 0, listed.stderr
    (database,) = [line for line in listed.stdout.splitlines() if line.startswith("database: ")]
    assert PASSWORD not in listed.stdout
    assert database == f"database: {describe(database_url)}"  # the password masked, SQLite as its file
    assert "alerts: unroutable 2" in listed.stdout
    assert "#2 unroutable" in listed.stdout and "#1 unroutable" in listed.stdout
    assert "no recipients: set OTELMON_ALERT_RECIPIENTS or a route for airflow/billing" in listed.stdout

    cancelled = otelmon(database_url, "cancel", "2")
    assert (cancelled.returncode, cancelled.stdout.splitlines()[-1]) == (0, "alert #2 is cancelled now")
    twice = otelmon(database_url, "cancel", "2")
    assert twice.returncode == 1 and twice.stderr.strip() == "error: cannot cancel alert 2: it is already cancelled"
    missing = otelmon(database_url, "resend", "99")
    assert missing.returncode == 1 and missing.stderr.strip() == "error: alert 99 does not exist"
    resent = otelmon(database_url, "resend", "1")
    assert (resent.returncode, resent.stdout.splitlines()[-1]) == (0, "alert #1 is pending now")
    pending = otelmon(database_url, "resend", "1")
    assert pending.returncode == 1 and "it is already waiting to be sent" in pending.stderr

    only = otelmon(database_url, "list", "--state", "cancelled")
    assert "#2 cancelled" in only.stdout and "#1 " not in only.stdout
    assert "alerts: cancelled 1, pending 1" in only.stdout


def test_a_missing_sqlite_database_is_reported_not_created(tmp_path):
    path = tmp_path / "nowhere.db"
    result = otelmon(f"sqlite:///{path}", "list")
    assert result.returncode == 1 and f"no database at {path}" in result.stderr
    assert not path.exists()
    path.touch()  # a file, but not an OtelMon database
    result = otelmon(f"sqlite:///{path}", "cancel", "1")
    assert result.returncode == 1 and "has no OtelMon schema" in result.stderr and "Traceback" not in result.stderr


def test_list_shows_each_target_of_an_alert_and_a_resend_retries_only_the_failed_one(database_url, tmp_path):
    from otelmon.alerting.notify.base import PermanentFailure

    (tmp_path / "notify.yaml").write_text(
        "receivers:\n  - name: team\n    email: [team@example.com]\n"
        "    webhook: [{url: 'https://hooks.example.com/otelmon'}]\ndefault_receiver: team\n")
    engine, tables, settings = open_db(database_url, notify_config=tmp_path / "notify.yaml")
    store(engine, [failure("charge", group="billing")])
    dispatch_due(engine, tables, settings, utcnow())
    claimed = {item.integration: item for item in delivery.claim(engine, tables, settings, utcnow())}
    assert sorted(claimed) == ["email", "webhook"]
    delivery.record(engine, tables, settings, [(claimed["email"], None),
                                               (claimed["webhook"], PermanentFailure("HTTP 410 from hooks"))],
                    utcnow())
    engine.dispose()

    listed = otelmon(database_url, "list")
    assert "#1 failed" in listed.stdout
    assert "    email[0] to team: sent, tries 1" in listed.stdout
    assert "    webhook[0] to team: failed, tries 1: HTTP 410 from hooks" in listed.stdout
    assert otelmon(database_url, "resend", "1").returncode == 0
    engine, tables, settings = open_db(database_url, notify_config=tmp_path / "notify.yaml")
    try:
        (again,) = delivery.claim(engine, tables, settings, utcnow())
        assert (again.integration, again.attempts) == ("webhook", 1)  # the email is not sent twice
    finally:
        engine.dispose()
