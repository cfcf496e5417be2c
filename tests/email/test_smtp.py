"""SmtpConnection against a real SMTP server (aiosmtpd): reuse, reconnects, refusals, an unreachable server."""

from __future__ import annotations

import asyncio

import aiosmtplib
import pytest

from otelmon.config import Settings
from otelmon.email import smtp
from otelmon.email.message import OutgoingEmail, build_message
from otelmon.email.smtp import SmtpConnection, send_batch
from tests.digest.smtp import ScriptedSmtpSink
from tests.harness.ports import free_port
from tests.harness.smtp import SmtpSink


def email(n: int) -> OutgoingEmail:
    return build_message(subject=f"[OtelMon] test {n}", text="plain", html="<p>html</p>",
                         mail_from="otelmon@example.com", recipients=["team@example.com"],
                         message_id=f"<test.{n}@example.com>")


def settings_for(port: int) -> Settings:
    return Settings(smtp_host="127.0.0.1", smtp_port=port, smtp_timeout_seconds=5)


def subjects(sink: SmtpSink) -> list[str]:
    return [m["Subject"] for m in sink.messages]


def test_one_connection_carries_many_messages_then_is_renewed(smtp_sink, monkeypatch):
    monkeypatch.setattr(smtp, "MAX_MESSAGES_PER_CONNECTION", 3)

    async def send_four() -> list[Exception | None]:
        connection = SmtpConnection(settings_for(smtp_sink.port))
        try:
            return [await connection.send(email(n)) for n in range(4)]
        finally:
            await connection.close()

    assert asyncio.run(send_four()) == [None] * 4
    peers = [r.peer for r in smtp_sink.wait_for(4)]
    assert peers[0] == peers[1] == peers[2] != peers[3]


def test_a_connection_the_server_dropped_is_replaced_and_the_message_sent_once():
    port = free_port()
    first = SmtpSink(port).start()
    second = None

    async def scenario() -> list[Exception | None]:
        nonlocal second
        connection = SmtpConnection(settings_for(port))
        results = [await connection.send(email(1))]
        # The server restarts between two messages (a deploy, an idle timeout): the open
        # connection is dead, and nothing in this coroutine has run to notice.
        first.stop()
        second = SmtpSink(port).start()
        results.append(await connection.send(email(2)))
        await connection.close()
        return results

    try:
        assert asyncio.run(scenario()) == [None, None]
        assert subjects(first) == ["[OtelMon] test 1"]
        second.wait_for(1)
        assert subjects(second) == ["[OtelMon] test 2"]
    finally:
        first.stop()
        if second is not None:
            second.stop()


def test_a_refused_message_does_not_stop_the_next_on_the_same_connection():
    sink = ScriptedSmtpSink().start()
    sink.refusals = ["550 5.1.1 no such user"]
    try:
        first, second = asyncio.run(send_batch(settings_for(sink.port), [email(1), email(2)]))
        assert isinstance(first, aiosmtplib.SMTPResponseException) and first.code == 550
        assert second is None
        (got,) = sink.wait_for(1)
        assert got.message["Subject"] == "[OtelMon] test 2"
    finally:
        sink.stop()


def test_an_unreachable_server_fails_every_message_of_a_batch_with_the_connect_error():
    results = asyncio.run(send_batch(settings_for(free_port()), [email(1), email(2)]))
    assert len(results) == 2 and results[0] is results[1]
    assert isinstance(results[0], OSError)


@pytest.mark.parametrize("code", ["421 4.3.2 closing", "451 4.3.0 try later"])
def test_a_temporary_refusal_on_a_fresh_connection_is_reported_not_retried(code):
    sink = ScriptedSmtpSink().start()
    sink.refusals = [code]
    try:
        (result,) = asyncio.run(send_batch(settings_for(sink.port), [email(1)]))
        assert isinstance(result, aiosmtplib.SMTPResponseException)
        assert sink.data_commands == 1 and not sink.received
    finally:
        sink.stop()
