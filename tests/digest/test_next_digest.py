"""``next_digest``: the console's preview of the next digest, on SQLite and MariaDB: the settings' window and
recipients, what the email reports, the digests a run would resend first; and it changes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from otelmon.clock import utcnow
from otelmon.digest.preview import next_digest
from otelmon.digest.run import run_digest
from otelmon.digest.send import DigestSendError
from tests.digest.conftest import options
from tests.digest.seed import digest_of, digests, failure, store


def test_the_next_digest_as_the_settings_make_it(engine, settings, smtp):
    settings = settings.model_copy(update={"digest_recipients": ["digest@example.com"], "digest_window_hours": 6.0})
    store(engine, [failure("extract_orders"), failure("load_ledger", group="ingest"),
                   failure("stale_job", ended_ago=timedelta(hours=7))])
    now = utcnow()
    preview = next_digest(engine, settings, now=now)
    assert (preview.window, preview.window_start, preview.window_end) == (timedelta(hours=6),
                                                                        now - timedelta(hours=6), now)
    assert preview.window_label == "6 h" and preview.recipients == ["digest@example.com"]
    assert preview.resend_first == [] and preview.claim is not None
    context = preview.context
    assert (context["total"], context["group_total"], context["recovered_total"]) == (2, 2, 0)
    assert "extract_orders" in preview.html and "load_ledger" in preview.html and "stale_job" not in preview.html
    assert set(digest_of(engine).values()) == {None} and digests(engine) == []
    assert smtp.data_commands == 0


def test_nothing_new_and_a_digest_to_resend_first(engine, settings, smtp):
    assert next_digest(engine, settings).claim is None
    store(engine, [failure("extract_orders")])
    smtp.refusals = ["451 4.3.0 try again"]
    with pytest.raises(DigestSendError):
        run_digest(engine, settings, options(), owner="first")
    (unsent,) = digests(engine)
    preview = next_digest(engine, settings)
    assert preview.claim is None and preview.html is None and preview.context is None
    assert [(row.id, row.failure_count) for row in preview.resend_first] == [(unsent["id"], 1)]
    assert digests(engine) == [unsent]
