"""An alert whose failure carries a long log tail still fits the 100 KB ceiling: older log lines go before
the head's own error is shortened."""

from __future__ import annotations

import dataclasses
import uuid

from otelmon.alerting import delivery
from otelmon.alerting.dispatch import dispatch_due
from otelmon.clock import utcnow
from tests.digest.seed import store
from tests.email.test_size_ceiling import a_failure, assert_on_the_wire_within_ceiling, cjk, db, deliver, parts

__all__ = ["db"]  # the fixture, shared with the size ceiling's tests


def test_a_long_log_tail_is_cut_to_its_newest_lines_before_the_error_is_shortened(db, smtp_sink):
    engine, tables, settings = db
    tail = "\n".join(f"line{n:03d} " + cjk(590, "日志") for n in range(50))
    stack = "\n".join(f'  File "/opt/job/{cjk(40)}.py", line {n}, in load {cjk(200)}' for n in range(300))
    head = dataclasses.replace(a_failure("load", group="sales", trace_id=uuid.uuid4().hex,
                                         message=cjk(1000, "首错"), stack=stack), log_tail=tail)
    store(engine, [head])
    assert dispatch_due(engine, tables, settings, utcnow()).alerted == 1
    (item,) = delivery.claim(engine, tables, settings, utcnow())
    (got,) = deliver(settings, [item.message], smtp_sink)
    assert_on_the_wire_within_ceiling(got, item.message)
    _, plain, html = parts(got.raw)
    for body in (plain, html):
        assert cjk(1000, "首错") in body  # the error, whole
        assert "Last log lines (the last" in body
        assert "line049 日志" in body and "line000 " not in body  # the newest lines are the ones kept
    assert "Shortened" not in plain


def test_an_alert_without_a_log_tail_has_no_log_section(db):
    engine, tables, settings = db
    store(engine, [a_failure("load", group="sales", message="bad")])
    dispatch_due(engine, tables, settings, utcnow())
    (item,) = delivery.claim(engine, tables, settings, utcnow())
    _, plain, html = parts(item.message.data)
    assert "Last log lines" not in plain and "Last log lines" not in html
