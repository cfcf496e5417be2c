"""The 100 KB ceiling holds for every email as it arrives at the SMTP server, non-ASCII text included.

Quoted-printable writes a CJK character as nine bytes: the hostile cases here are long CJK and emoji names,
messages and stack traces, measured on what a real SMTP server (aiosmtpd on loopback) received.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import timedelta
from email import message_from_bytes, policy

import pytest

from otelmon.alerting import delivery
from otelmon.alerting.dispatch import dispatch_due
from otelmon.clock import utcnow
from otelmon.digest.compose import compose_digest
from otelmon.digest.options import DigestOptions
from otelmon.digest.run import run_digest
from otelmon.digest.select import select_new_failures
from otelmon.email import message
from otelmon.email.fit import last_resort
from otelmon.email.message import MAX_EMAIL_BYTES, build_message
from otelmon.email.smtp import send_batch
from otelmon.failures.model import Failure
from tests.alerting.conftest import open_db
from tests.digest.seed import store

TEAM = "team@example.com"
CJK = "数据仓库加载失败：客户表第七列的值无法转换为整数🔥"


def cjk(chars: int, tag: str = "") -> str:
    return (tag + (CJK * (chars // len(CJK) + 1)))[:chars]


def a_failure(process: str, *, group: str, trace_id: str | None = None, span_id: str | None = None,
              parent: str | None = None, message: str = "", stack: str | None = None, ago: int = 0,
              platform: str = "airflow") -> Failure:
    end = utcnow() - timedelta(minutes=5) + timedelta(seconds=ago)
    return Failure(platform=platform, group=group, process=process, span_name=process,
                   start_time=end - timedelta(seconds=30 - ago % 20), end_time=end,
                   run_id=f"run_{uuid.uuid4().hex[:8]}", try_number=1, trace_id=trace_id or uuid.uuid4().hex,
                   span_id=span_id or uuid.uuid4().hex[:16], parent_span_id=parent, error_type="数据错误",
                   error_message=message, stacktrace=stack)


def deliver(settings, messages, sink):
    before = len(sink.received)
    assert asyncio.run(send_batch(settings, messages)) == [None] * len(messages)
    return sink.wait_for(before + len(messages))[before:]


def parts(raw: bytes) -> tuple[object, str, str]:
    parsed = message_from_bytes(raw, policy=policy.default)
    return parsed, parsed.get_body(("plain",)).get_content(), parsed.get_body(("html",)).get_content()


def assert_on_the_wire_within_ceiling(received, sent) -> None:
    assert len(received.raw) <= MAX_EMAIL_BYTES, f"{len(received.raw)} bytes arrived"
    # The composer's measure is the size that arrives: nothing is added between the two.
    assert len(received.raw) == sent.size
    assert max(received.raw) < 128  # 7-bit: servers without 8BITMIME take it too
    assert all(len(line) <= 998 for line in received.raw.split(b"\r\n"))


@pytest.fixture
def db(database_url, smtp_sink):
    engine, tables, settings = open_db(database_url, alert_recipients=[TEAM], smtp_host="127.0.0.1",
                                       smtp_port=smtp_sink.port, smtp_timeout_seconds=5,
                                       grafana_url="http://grafana.example:3000")
    yield engine, tables, settings
    engine.dispose()


def test_an_alert_with_many_long_non_ascii_causes_and_a_huge_stack_fits(db, smtp_sink):
    engine, tables, settings = db
    trace, head_span = uuid.uuid4().hex, uuid.uuid4().hex[:16]
    group = cjk(255, "组")
    stack = "\n".join(f"  File \"/opt/作业/{cjk(40)}.py\", line {n}, in 加载 🔥 {cjk(200)}" for n in range(3000))
    head = a_failure(cjk(255, "头"), group=group, trace_id=trace, span_id=head_span, message=cjk(60_000, "首错"),
                     stack=stack)
    causes = [a_failure(cjk(255, f"因{n}"), group=group, trace_id=trace, parent=head_span, ago=n + 1,
                        message=cjk(20_000, f"原因{n}")) for n in range(8)]
    store(engine, [head, *causes])
    assert dispatch_due(engine, tables, settings, utcnow()).alerted == 1
    (item,) = delivery.claim(engine, tables, settings, utcnow())
    (got,) = deliver(settings, [item.message], smtp_sink)
    print(f"alert: {len(got.raw)} bytes on the wire")
    assert_on_the_wire_within_ceiling(got, item.message)
    parsed, plain, html = parts(got.raw)
    assert "\r" not in parsed["Subject"] and "\n" not in parsed["Subject"]
    assert parsed["Subject"].startswith("[OtelMon] FAILED airflow / 组")
    assert parsed["Subject"].endswith("(+8 more in this trace)")
    for body in (plain, html):
        assert "首错数据仓库加载失败" in body  # the head's error, however shortened
        assert "http://grafana.example:3000/explore?" in body and trace in body
    assert "- ... and 3 more" in plain and "… and 3 more." in html  # 5 of the 8 causes listed
    for body in (plain, html):  # the action links survive every shrink step short of the last resort
        assert "Mute this failure for 24 h" in body and "Acknowledge until resolved" in body
        assert len(re.findall(re.escape(settings.public_url) + r"/actions/[\w.=-]+", body)) >= 2
    assert "the full message is in the trace in Grafana" in plain


def test_a_storm_summary_of_sixty_failures_with_long_cjk_names_fits(db, smtp_sink):
    engine, tables, settings = db
    settings = settings.model_copy(update={"alert_storm_cap_per_minute": 1})
    store(engine, [a_failure(cjk(255, f"任务{n}号"), group=cjk(255, f"组{n}号"), message=cjk(5000, f"错{n}"),
                             platform=cjk(64, "平台"), ago=n) for n in range(61)])
    dispatch_due(engine, tables, settings, utcnow())
    claimed = {item.kind: item for item in delivery.claim(engine, tables, settings, utcnow())}
    summary = claimed["summary"].message
    (got,) = deliver(settings, [summary], smtp_sink)
    print(f"storm summary: {len(got.raw)} bytes on the wire")
    assert_on_the_wire_within_ceiling(got, summary)
    parsed, plain, html = parts(got.raw)
    assert parsed["Subject"] == "[OtelMon] 60 more failures held back (over 1/min)"
    for body in (plain, html):
        assert "60 more failures not emailed one by one" in body
        assert "组" in body and "任务" in body  # some rows are still listed
        assert "http://grafana.example:3000/d/otelmon-failures" in body
    assert "more kinds of failure" in plain


def test_a_digest_of_hundreds_of_non_ascii_failures_fits(database_url, smtp_sink):
    engine, tables, settings = open_db(database_url, smtp_host="127.0.0.1", smtp_port=smtp_sink.port,
                                       smtp_timeout_seconds=5, grafana_url="http://grafana.example:3000")
    store(engine, [a_failure(cjk(255, f"任务{n}号"), group=cjk(255, f"组{n % 40}号"),
                             platform=cjk(64, f"平台{n % 40 % 7}"), message=cjk(3000, f"错{n}"), ago=n)
                   for n in range(400)])
    result = run_digest(engine, settings, DigestOptions(recipients=[TEAM], window=timedelta(hours=24), row_limit=1000),
                        owner="size-test")
    engine.dispose()
    assert result.emails == 1
    (got,) = smtp_sink.wait_for(1)
    print(f"digest: {len(got.raw)} bytes on the wire")
    assert len(got.raw) <= MAX_EMAIL_BYTES, f"{len(got.raw)} bytes arrived"
    assert max(got.raw) < 128
    parsed, plain, html = parts(got.raw)
    assert "\r" not in parsed["Subject"] and "\n" not in parsed["Subject"]
    assert parsed["Subject"].startswith("[OtelMon] Digest: 400 new failures in 40 groups")
    assert parsed["Subject"].endswith("last 24 h")
    for body in (plain, html):
        assert "400" in body and "http://grafana.example:3000/d/otelmon-failures?" in body
    listed = int(re.search(r"(\d+) of 400 failures listed", plain).group(1))
    print(f"digest: {listed} of 400 failures listed")
    assert 0 < listed < 400 and f"{400 - listed} more on the failures dashboard" in plain


def test_non_ascii_bodies_are_encoded_compactly_and_come_back_unchanged():
    text = cjk(20_000)
    email = build_message(subject="s", text=text, html=f"<p>{text}</p>", mail_from="a@example.com",
                          recipients=["b@example.com"], message_id="<1@example.com>")
    # Base64 grows UTF-8 CJK by a third; quoted-printable would triple it (~360 KB here).
    assert email.size < 2 * len(text.encode()) * 1.4
    _, plain, html = parts(email.data)
    assert plain.rstrip("\r\n") == text and html.rstrip("\r\n") == f"<p>{text}</p>"
    ascii_email = build_message(subject="s", text="plain = text", html="<p>x</p>", mail_from="a@example.com",
                                recipients=["b@example.com"], message_id="<2@example.com>")
    assert b"plain =3D text" in ascii_email.data  # mostly-ASCII parts stay quoted-printable, readable raw


def test_the_last_resort_fits_whatever_it_is_given():
    emoji = "🔥" * 5000
    email = last_resort(title=emoji, subject=emoji, lines=[emoji] * 50, link="http://g.example/" + "%F0" * 5000,
                        link_text=emoji, mail_from="otelmon@example.com", recipients=[TEAM],
                        message_id="<1@example.com>", headers={"X-OtelMon-Alert": emoji})
    print(f"worst last resort: {email.size} bytes")
    assert email.fits and max(email.data) < 128
    _, plain, html = parts(email.data)
    assert "This email was shortened to stay under 100 KB." in plain and "🔥" in html


def test_when_nothing_else_fits_an_alert_still_goes_out_with_its_error_and_trace_link(db, monkeypatch):
    engine, tables, settings = db
    trace, head_span = uuid.uuid4().hex, uuid.uuid4().hex[:16]
    store(engine, [a_failure("load", group="sales", trace_id=trace, span_id=head_span, message="首错 bad row " * 50),
                   *(a_failure(f"step_{n}", group="sales", trace_id=trace, parent=head_span, ago=n + 1,
                               message="inner") for n in range(3))])
    dispatch_due(engine, tables, settings, utcnow())
    monkeypatch.setattr(message, "MAX_EMAIL_BYTES", 1)  # no rendering fits: only the last resort is left
    (item,) = delivery.claim(engine, tables, settings, utcnow())
    parsed, plain, html = parts(item.message.data)
    assert parsed["Subject"] == "[OtelMon] FAILED airflow / sales / load (+3 more in this trace)"
    for body in (plain, html):
        assert "FAILED: airflow / sales / load" in body and "数据错误: 首错 bad row" in body
        assert "http://grafana.example:3000/explore?" in body and trace in body
        assert "3 more failing steps in this trace" in body and "shortened to stay under 0 KB" in body


def test_when_nothing_else_fits_a_storm_summary_and_a_digest_still_go_out_with_their_counts(db, monkeypatch):
    engine, tables, settings = db
    settings = settings.model_copy(update={"alert_storm_cap_per_minute": 1})
    store(engine, [a_failure(f"step_{n}", group=f"dag_{n % 4}", message="bad", ago=n) for n in range(9)])
    dispatch_due(engine, tables, settings, utcnow())
    monkeypatch.setattr(message, "MAX_EMAIL_BYTES", 1)
    summary = {item.kind: item for item in delivery.claim(engine, tables, settings, utcnow())}["summary"].message
    parsed, plain, _ = parts(summary.data)
    assert parsed["Subject"] == "[OtelMon] 8 more failures held back (over 1/min)"
    assert "8 more failures not emailed one by one" in plain and "8 kinds of failure, in 4 groups" in plain
    assert "See every failure in Grafana: http://grafana.example:3000/d/otelmon-failures" in plain

    with engine.connect() as conn:
        rows = select_new_failures(conn, utcnow() - timedelta(hours=24))
    composed = compose_digest(rows, settings, digest_id=3, recipients=[TEAM], window=timedelta(hours=24),
                              window_start=utcnow() - timedelta(days=1), window_end=utcnow(), row_limit=50)
    parsed, plain, _ = parts(composed.email.data)
    assert parsed["Subject"].startswith("[OtelMon] Digest: 9 new failures in 4 groups")
    assert "OtelMon digest #3: 9 new failures in 4 groups, last 24 h" in plain
    assert "Open the failures dashboard: http://grafana.example:3000/d/otelmon-failures?" in plain
    assert composed.context["listed"] == 0 and composed.context["not_listed"] == 9
    assert composed.text == plain and "9 new failures in 4 groups" in composed.html  # what --dry-run shows
