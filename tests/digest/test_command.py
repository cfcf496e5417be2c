"""``otelmon digest`` as separate processes on MariaDB: dry run, crashes mid-run, two runs at once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.digest.conftest import MAIL_FROM, TEAM
from tests.digest.locks import wait_for_lock_waits
from tests.digest.seed import digest_of, digests, failure, store
from tests.harness.waiting import wait_until

# The command's own entry point; ``otelmon digest`` runs the same register() through otelmon.cli.
COMMAND = [sys.executable, "-m", "otelmon.cli", "digest"]


@pytest.fixture
def env(mariadb_url, smtp) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("OTELMON_")}
    return {**base, "OTELMON_DATABASE_URL": mariadb_url, "OTELMON_SMTP_HOST": "127.0.0.1",
            "OTELMON_SMTP_PORT": str(smtp.port), "OTELMON_SMTP_MAIL_FROM": MAIL_FROM,
            "OTELMON_DIGEST_RECIPIENTS": TEAM, "OTELMON_SMTP_TIMEOUT_SECONDS": "5"}


@pytest.fixture
def db(mariadb_url):
    engine = create_engine(mariadb_url)
    yield engine
    engine.dispose()


def digest_cmd(env, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([*COMMAND, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False)


def start_digest(env, *args: str) -> subprocess.Popen:
    return subprocess.Popen([*COMMAND, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_dry_run_prints_the_digest_and_writes_the_html(env, db, smtp, tmp_path: Path):
    store(db, [failure("extract_orders", message="connection <refused>")])
    html = tmp_path / "digest.html"
    done = digest_cmd(env, "--dry-run", "--html-out", str(html), "--window", "2h")
    assert done.returncode == 0, done.stderr
    assert "would send: [OtelMon] Digest: 1 new failure in 1 group (airflow), last 2 h" in done.stdout
    assert "extract_orders" in done.stdout and f"to: {TEAM}" in done.stdout
    assert "connection &lt;refused&gt;" in html.read_text()
    assert digests(db) == [] and digest_of(db) == {"extract_orders": None}

    sent = digest_cmd(env, "--window", "2h")
    assert sent.returncode == 0, sent.stderr
    assert "sent digest #" in sent.stdout
    nothing = digest_cmd(env)
    assert nothing.returncode == 0 and "no new failures" in nothing.stdout
    assert len(smtp.wait_for(1)) == 1 and smtp.data_commands == 1


def test_smtp_down_exits_1_and_the_next_run_sends_the_same_digest(env, db, smtp):
    store(db, [failure("load_sales")])
    smtp.refusals = ["421 4.3.2 service shutting down"]
    failed = digest_cmd(env)
    assert failed.returncode == 1 and "not sent" in failed.stdout
    (pending,) = digests(db)
    store(db, [failure("after_outage")])
    later = digest_cmd(env)  # another run, at once: the failed digest goes first, no lease to wait for
    assert later.returncode == 0, later.stdout + later.stderr
    assert "being sent by another run" not in later.stdout
    lines = later.stdout.splitlines()
    assert [line.split(" (")[0].split(":")[0] for line in lines if "digest #" in line] == [
        f"resent digest #{pending['id']}", f"sent digest #{pending['id'] + 1}"]
    mail, _ = smtp.wait_for(2)
    assert mail.message["Message-ID"] == pending["message_id"]


def test_crash_after_sending_before_recording_resends_the_same_message_id(env, db, smtp):
    store(db, [failure("publish_report")])
    holder = db.connect()
    holder_tx = holder.begin()

    def lock_the_digest_row(message) -> None:
        # Accepted by SMTP, but "record sent" (an UPDATE of this row) will wait: the crash lands in between.
        holder.execute(text("SELECT id FROM digests WHERE id = :i FOR UPDATE"),
                       {"i": int(message["X-OtelMon-Digest"])})

    smtp.before_accept = lock_the_digest_row
    process = start_digest(env, "--owner", "airflow:failed_process_alert:run-7")
    try:
        smtp.wait_for(1, timeout=60)
        process.send_signal(signal.SIGKILL)
        process.wait(30)
    finally:
        holder_tx.rollback()
        holder.close()
    smtp.before_accept = None
    (claimed,) = digests(db)
    assert claimed["state"] == "claimed"

    retry = digest_cmd(env, "--owner", "airflow:failed_process_alert:run-7")
    assert retry.returncode == 0 and f"resent digest #{claimed['id']}" in retry.stdout
    first, second = smtp.wait_for(2)
    assert first.message["Message-ID"] == second.message["Message-ID"] == claimed["message_id"]
    assert first.message.get_body(("plain",)).get_content() == second.message.get_body(("plain",)).get_content()
    assert [d["state"] for d in digests(db)] == ["sent"]
    assert digest_cmd(env).stdout.strip().endswith("no new failures: nothing to send")
    assert len(smtp.received) == 2


def test_crash_while_sending_resends_on_retry(env, db, smtp):
    store(db, [failure("compact_tables")])
    release = threading.Event()
    smtp.before_accept = lambda message: release.wait(60) and False  # never accepted: the sender dies first
    process = start_digest(env, "--owner", "run-9")
    try:
        wait_until(lambda: smtp.data_commands == 1, 60, what="the digest to reach DATA")
        process.send_signal(signal.SIGKILL)
        process.wait(30)
    finally:
        release.set()
    smtp.before_accept = None
    assert smtp.received == []
    retry = digest_cmd(env, "--owner", "run-9")
    assert retry.returncode == 0 and "resent digest #" in retry.stdout
    (mail,) = smtp.wait_for(1)
    assert "compact_tables" in mail.message.get_body(("plain",)).get_content()


def test_two_processes_at_once_report_each_failure_exactly_once(env, db, smtp, mariadb_server):
    ids = store(db, [failure(f"task_{n:03d}", group=f"group_{n % 7}") for n in range(300)])
    holder = db.connect()
    holder_tx = holder.begin()
    # Both runs read the same candidates, then queue behind this row lock in their claiming UPDATEs.
    holder.execute(text("SELECT id FROM failures WHERE id = :i FOR UPDATE"), {"i": min(ids)})
    runs = [start_digest(env) for _ in range(2)]
    try:
        wait_for_lock_waits(mariadb_server, 2, 60, what="both runs to wait in their claims")
    finally:
        holder_tx.rollback()
        holder.close()
    outputs = [run.communicate(timeout=120)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs

    owners = digest_of(db)
    assert len(owners) == 300 and None not in owners.values()
    sent = [d for d in digests(db) if d["state"] == "sent"]
    assert sum(d["failure_count"] for d in sent) == 300
    mails = smtp.wait_for(len(sent))
    assert sorted(m.message["Message-ID"] for m in mails) == sorted(d["message_id"] for d in sent)
    assert len(smtp.received) == len(sent)

