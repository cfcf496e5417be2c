"""Claim, send, record: digest runs in this process against SQLite and MariaDB, mail to a real SMTP server."""

from __future__ import annotations

import dataclasses
import threading
from datetime import timedelta

import pytest
from sqlalchemy import text

from otelmon.digest.run import NoRecipients, preview, run_digest
from otelmon.digest.send import DigestSendError
from otelmon.runs.model import Run
from otelmon.storage.installation import ensure_installation_id
from tests.digest.conftest import TEAM, options
from tests.digest.locks import wait_for_lock_waits
from tests.digest.seed import digest_of, digests, failure, store


def text_part(message) -> str:
    return message.get_body(("plain",)).get_content()


def test_reports_failures_of_the_window_once(engine, settings, smtp):
    store(engine, [
        failure("recent", ended_ago=timedelta(hours=1)),
        failure("early_today", ended_ago=timedelta(hours=23)),
        failure("yesterday", ended_ago=timedelta(hours=25)),
    ])
    first = run_digest(engine, settings, options(), owner="run-1")
    assert first.sent is not None and first.sent.failure_count == 2
    (mail,) = smtp.wait_for(1)
    body = text_part(mail.message)
    assert "recent" in body and "early_today" in body and "yesterday" not in body
    assert mail.rcpt_tos == [TEAM]
    assert mail.message["Message-ID"] == first.sent.message_id
    assert mail.message.get_content_type() == "multipart/alternative"
    assert digest_of(engine) == {"recent": first.sent.digest_id, "early_today": first.sent.digest_id,
                                 "yesterday": None}
    assert [d["state"] for d in digests(engine)] == ["sent"]

    second = run_digest(engine, settings, options(), owner="run-2")
    assert second.sent is None and second.emails == 0
    assert smtp.data_commands == 1


def test_failures_after_a_digest_go_into_the_next_one_only(engine, settings, smtp):
    store(engine, [failure("first_batch")])
    run_digest(engine, settings, options(), owner="run-1")
    store(engine, [failure("second_batch")])
    result = run_digest(engine, settings, options(), owner="run-2")
    assert result.sent is not None and result.sent.failure_count == 1
    first, second = (text_part(r.message) for r in smtp.wait_for(2))
    assert "first_batch" in first and "second_batch" not in first
    assert "second_batch" in second and "first_batch" not in second


def test_unsent_digest_is_resent_with_its_message_id_before_new_failures_are_claimed(engine, settings, smtp):
    store(engine, [failure("before_outage")])
    smtp.refusals = ["451 4.3.0 mailbox busy, try again"]
    with pytest.raises(DigestSendError):
        run_digest(engine, settings, options(), owner="airflow:failed_process_alert:run-1")
    (pending,) = digests(engine)
    assert pending["state"] == "send_failed" and "451" in pending["last_error"] and pending["attempts"] == 1
    assert smtp.received == []

    store(engine, [failure("after_outage")])
    retry = run_digest(engine, settings, options(), owner="airflow:failed_process_alert:run-1")
    assert [s.digest_id for s in retry.resent] == [pending["id"]]
    assert retry.sent is not None and retry.sent.digest_id != pending["id"]
    resent, new = smtp.wait_for(2)
    assert resent.message["Message-ID"] == pending["message_id"]
    assert "before_outage" in text_part(resent.message) and "after_outage" not in text_part(resent.message)
    assert "after_outage" in text_part(new.message) and "before_outage" not in text_part(new.message)
    assert [(d["state"], d["attempts"]) for d in digests(engine)] == [("sent", 2), ("sent", 1)]


def test_a_failed_send_is_taken_over_at_once_by_the_next_run_whoever_starts_it(engine, settings, smtp):
    store(engine, [failure("stuck")])
    smtp.refusals = ["451 4.3.0 try again"]
    with pytest.raises(DigestSendError):
        run_digest(engine, settings, options(), owner="cli:host:1:abc")  # a CLI run ...
    (pending,) = digests(engine)
    assert pending["state"] == "send_failed" and "451" in pending["last_error"]

    store(engine, [failure("newer")])
    # ... then the Airflow task: it resends the failed digest first, without waiting for any lease.
    nxt = run_digest(engine, settings, options(), owner="airflow:failed_process_alert:run-2")
    assert nxt.busy == [] and [s.digest_id for s in nxt.resent] == [pending["id"]]
    assert nxt.sent is not None and nxt.sent.digest_id > pending["id"]
    resent, new = smtp.wait_for(2)
    assert resent.message["Message-ID"] == pending["message_id"] and "newer" in text_part(new.message)
    assert [(d["state"], d["attempts"]) for d in digests(engine)] == [("sent", 2), ("sent", 1)]


def test_a_digest_being_sent_is_left_to_its_sender_until_its_lease_runs_out(engine, settings, smtp):
    from otelmon.clock import utcnow
    from otelmon.digest import ledger
    from otelmon.storage.tables import Tables

    store(engine, [failure("in_flight")])
    smtp.refusals = ["451 4.3.0 try again"]
    with pytest.raises(DigestSendError):
        run_digest(engine, settings, options(), owner="first")
    (pending,) = digests(engine)
    # A live run takes it over and is sending it right now (its lease runs).
    assert ledger.take_lease(engine, Tables.reflect(engine), pending["id"], owner="live", now=utcnow(),
                             lease=timedelta(minutes=5)) is not None

    other = run_digest(engine, settings, options(), owner="someone-else")
    assert other.busy == [pending["id"]] and other.emails == 0
    assert smtp.received == []

    # The live run died: its lease runs out.
    with engine.begin() as conn:
        conn.execute(text("UPDATE digests SET lease_until = :past"), {"past": "2000-01-01 00:00:00"})
    taken = run_digest(engine, settings, options(), owner="someone-else")
    assert [s.digest_id for s in taken.resent] == [pending["id"]]
    (mail,) = smtp.wait_for(1)
    assert mail.message["Message-ID"] == pending["message_id"]


def test_dry_run_shows_the_digest_and_changes_nothing(engine, settings, smtp):
    ensure_installation_id(engine)  # as the API's first start does
    store(engine, [failure("a"), failure("b", group="ingest")])
    unsent, claim = preview(engine, settings, options())
    assert unsent == [] and claim is not None and len(claim.failure_ids) == 2
    assert "a" in claim.composed.text and "<html" in claim.composed.html
    assert set(digest_of(engine).values()) == {None}
    assert digests(engine) == []
    assert smtp.data_commands == 0
    sent = run_digest(engine, settings, options(), owner="run").sent
    assert sent.failure_count == 2
    # The preview consumed no digest id: it showed the number (and Message-ID) the run then used.
    assert (sent.digest_id, sent.message_id) == (claim.digest_id, claim.composed.email.message_id)


def test_repeats_the_immediate_alerts_suppressed_are_shown(engine, settings, smtp):
    ids = store(engine, [failure("flaky", message=f"timeout {n}") for n in range(3)])
    with engine.begin() as conn:
        conn.execute(text("UPDATE alert_outbox SET state = 'alerted' WHERE failure_id = :i"), {"i": ids[0]})
        for failure_id in ids[1:]:
            conn.execute(text("UPDATE alert_outbox SET state = 'suppressed' WHERE failure_id = :i"), {"i": failure_id})
    run_digest(engine, settings, options(), owner="run")
    (mail,) = smtp.wait_for(1)
    body = text_part(mail.message)
    assert "2 repeats not emailed immediately" in body
    assert body.count("[repeat, not emailed]") == 2 and "- flaky (try 1)" in body.splitlines()  # emailed: no label


def test_no_recipients_claims_nothing(engine, settings, smtp):
    store(engine, [failure("lonely")])
    with pytest.raises(NoRecipients):
        run_digest(engine, settings, options(recipients=()), owner="run")
    assert digest_of(engine) == {"lonely": None}


@pytest.mark.parametrize("database_url", ["mariadb"], indirect=True)
def test_failure_arriving_during_a_claim_goes_into_the_next_digest(engine, settings, smtp, mariadb_server):
    (newest,) = store(engine, [failure("in_run", ended_ago=timedelta(minutes=1))])
    blocker = engine.connect()
    blocker_tx = blocker.begin()
    # Hold the selected row: the run's claim has read its candidates and now waits in its UPDATE.
    blocker.execute(text("SELECT id FROM failures WHERE id = :i FOR UPDATE"), {"i": newest})
    outcome: dict = {}
    worker = threading.Thread(target=lambda: outcome.update(r=run_digest(engine, settings, options(), owner="run")))
    worker.start()
    try:
        wait_for_lock_waits(mariadb_server, 1, 30, what="the claim to wait for the held row")
        store(engine, [failure("arrived_meanwhile", ended_ago=timedelta(seconds=1))])
    finally:
        blocker_tx.rollback()
        blocker.close()
    worker.join(60)
    assert outcome["r"].sent.failure_count == 1
    assert "arrived_meanwhile" not in text_part(smtp.wait_for(1)[0].message)
    following = run_digest(engine, settings, options(), owner="next")
    assert following.sent.failure_count == 1
    assert "arrived_meanwhile" in text_part(smtp.wait_for(2)[1].message)



def test_a_resend_goes_to_the_recipients_configured_now(engine, settings, smtp):
    store(engine, [failure("typo_in_address")])
    smtp.refusals = ["550 5.1.1 no such user"]
    with pytest.raises(DigestSendError):
        run_digest(engine, settings, options(recipients=("dat-team@example.com",)), owner="run")
    run_digest(engine, settings, options(recipients=(TEAM,)), owner="run")
    (mail,) = smtp.wait_for(1)
    assert mail.rcpt_tos == [TEAM]


def test_a_digest_the_server_keeps_refusing_is_given_up_and_its_failures_go_into_the_next(engine, settings, smtp):
    # Bounded: after digest_max_attempts sends the digest is given up, and nothing is skipped or blocked.
    settings = settings.model_copy(update={"digest_max_attempts": 2})
    store(engine, [failure("refused_twice")])
    smtp.refusals = ["554 5.7.1 message refused"] * 3
    with pytest.raises(DigestSendError):
        run_digest(engine, settings, options(), owner="run-1")  # attempt 1 of digest 1
    with pytest.raises(DigestSendError):
        # Attempt 2: given up, its failure handed back; a new digest claims it at once (and is refused too).
        run_digest(engine, settings, options(), owner="run-2")
    assert [(d["id"], d["state"]) for d in digests(engine)] == [(1, "given_up"), (2, "send_failed")]
    assert digest_of(engine) == {"refused_twice": 2}

    result = run_digest(engine, settings, options(), owner="run-3")  # the server takes mail again
    assert [s.digest_id for s in result.resent] == [2] and result.sent is None
    (mail,) = smtp.wait_for(1)
    assert "refused_twice" in text_part(mail.message)
    assert [d["state"] for d in digests(engine)] == ["given_up", "sent"]


def test_issue_states_are_shown_and_tries_recovered_by_a_retry_have_their_own_section(engine, settings, smtp):
    flaky = dataclasses.replace(failure("flaky", message="source not ready"), will_retry=True)
    success = Run(platform=flaky.platform, group=flaky.group, process=flaky.process, run_id=flaky.run_id,
                  try_number=2, start_time=flaky.end_time, end_time=flaky.end_time + timedelta(seconds=5),
                  outcome="success")
    broken = failure("broken", message="disk full")
    store(engine, [flaky, broken], [success])

    result = run_digest(engine, settings, options(), owner="run-1")
    assert result.sent is not None and result.sent.failure_count == 2
    (mail,) = smtp.wait_for(1)
    body = text_part(mail.message)
    sections, recovered = body.split("== Recovered after retry: 1 try failed")
    assert "- broken (try 1)" in sections and "Issue: new, failing since" in sections and "- flaky" not in sections
    assert "/ flaky (try 1), run " in recovered and "source not ready" in recovered and "broken" not in recovered
    html = mail.message.get_body(("html",)).get_content()
    assert "Recovered after retry" in html and ">new</span>" in html
