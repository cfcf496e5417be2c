"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, parsed as MIME."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from functools import cached_property

from aiosmtpd.controller import Controller

from tests.harness.ports import free_port


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    arrived: float  # time.monotonic() when the DATA command completed
    peer: tuple[str, int]  # the client's address: one per SMTP connection

    @cached_property
    def message(self) -> EmailMessage:
        # Parsed on first use, not while the client waits for "250 OK": a real server answers at once.
        return message_from_bytes(self.raw, policy=policy.default)


class _Hooks:
    """What aiosmtpd sees as the handler. It looks for hooks with inspect.getmembers() on every new
    connection, which reads every attribute: handed the sink itself, it would evaluate ``messages`` and
    parse everything received so far each time a client connects (~2 ms a message, stalling the server)."""

    def __init__(self, sink: SmtpSink) -> None:
        self.handle_DATA = sink.handle_DATA  # noqa: N815 - aiosmtpd's name


class SmtpSink:
    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.received: list[Received] = []
        self._changed = threading.Condition()
        self._controller: Controller | None = None

    # aiosmtpd handler hook
    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's name
        arrived = time.monotonic()
        raw = envelope.original_content or envelope.content
        with self._changed:
            self.received.append(
                Received(envelope.mail_from, list(envelope.rcpt_tos), raw, arrived, tuple(session.peer)))
            self._changed.notify_all()
        return "250 OK"

    def start(self) -> SmtpSink:
        # Large enough for the oversized-input tests: the server must not be what trims a message.
        self._controller = Controller(_Hooks(self), hostname="127.0.0.1", port=self.port,
                                      data_size_limit=10 * 1024 * 1024)
        self._controller.start()
        return self

    def stop(self) -> None:
        """Stop listening: connections are refused, as with an SMTP server that is down."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def messages(self) -> list[EmailMessage]:
        with self._changed:
            return [r.message for r in self.received]

    def wait_for(self, count: int, timeout: float = 15) -> list[Received]:
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.received) >= count, timeout):
                raise AssertionError(f"expected {count} messages within {timeout}s, got {len(self.received)}")
            return list(self.received)
