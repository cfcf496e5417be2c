"""SMTP delivery with aiosmtplib: plain (Mailpit), STARTTLS (587) or implicit TLS (465), with timeouts."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import aiosmtplib

from otelmon.config import Settings
from otelmon.email.message import OutgoingEmail

log = logging.getLogger(__name__)

_MESSAGES_PER_CONNECTION = 8


class SmtpSender:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def _client(self) -> aiosmtplib.SMTP:
        s = self.settings
        mode = s.smtp_mode
        return aiosmtplib.SMTP(
            hostname=s.smtp_host,
            port=s.smtp_port,
            use_tls=mode == "tls",
            start_tls=True if mode == "starttls" else False,
            timeout=s.smtp_timeout_seconds,
            username=s.smtp_user or None,
            password=s.smtp_password.get_secret_value() if s.smtp_password else None,
        )

    async def send_many(self, messages: Sequence[OutgoingEmail]) -> list[Exception | None]:
        """Send over up to ``smtp_max_connections`` connections at once; results in message order."""
        # A connection costs a handshake; open more only when each carries several messages.
        lanes = max(1, min(self.settings.smtp_max_connections, len(messages) // _MESSAGES_PER_CONNECTION))
        if lanes == 1:
            return await self.send(messages)
        # Round-robin, so each connection carries a share and the results map back by index.
        shares = [list(range(i, len(messages), lanes)) for i in range(lanes)]
        outcomes = await asyncio.gather(*(self.send([messages[i] for i in share]) for share in shares))
        results: list[Exception | None] = [None] * len(messages)
        for share, outcome in zip(shares, outcomes, strict=True):
            for index, result in zip(share, outcome, strict=True):
                results[index] = result
        return results

    async def send(self, messages: Sequence[OutgoingEmail]) -> list[Exception | None]:
        """Send over one connection; the result for each message is None (sent) or the error.

        A connection failure fails every message not yet sent; a refusal of one message does not
        stop the others.
        """
        results: list[Exception | None] = [None] * len(messages)
        if not messages:
            return results
        client = self._client()
        try:
            await client.connect()
        except (aiosmtplib.SMTPException, OSError) as exc:
            return [exc] * len(messages)
        try:
            for index, msg in enumerate(messages):
                try:
                    await client.sendmail(msg.mail_from, msg.recipients, msg.data)
                except (aiosmtplib.SMTPRecipientsRefused, aiosmtplib.SMTPResponseException) as exc:
                    results[index] = exc
                except (aiosmtplib.SMTPException, OSError) as exc:
                    for rest in range(index, len(messages)):
                        results[rest] = exc
                    break
        finally:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError):
                client.close()
        return results
