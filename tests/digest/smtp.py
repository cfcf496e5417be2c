"""The harness's SMTP sink, scriptable: refuse the next messages, or run a step before accepting one."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from email import message_from_bytes, policy
from email.message import EmailMessage

from tests.harness.smtp import SmtpSink


class ScriptedSmtpSink(SmtpSink):
    def __init__(self) -> None:
        super().__init__()
        self.data_commands = 0
        # Replies for the next DATA commands, e.g. "451 4.3.0 try again later"; each is used once.
        self.refusals: list[str] = []
        # Runs (in a worker thread) before a message is accepted; returning False refuses it instead.
        self.before_accept: Callable[[EmailMessage], bool | None] | None = None

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's name
        self.data_commands += 1
        if self.refusals:
            return self.refusals.pop(0)
        if self.before_accept is not None:
            parsed = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
            verdict = await asyncio.get_running_loop().run_in_executor(None, self.before_accept, parsed)
            if verdict is False:
                return "451 4.3.0 not accepted"
        return await super().handle_DATA(server, session, envelope)
