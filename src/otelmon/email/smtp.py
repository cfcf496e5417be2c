"""SMTP delivery with aiosmtplib: plain (Mailpit), STARTTLS (587) or implicit TLS (465), with timeouts."""

from __future__ import annotations

from collections.abc import Sequence

import aiosmtplib

from otelmon.config import Settings
from otelmon.email.message import OutgoingEmail

# Some servers limit messages per connection (Exchange's receive connectors, for one); reconnecting now
# and then costs one handshake, and a server that closes earlier is handled like an idle disconnect.
MAX_MESSAGES_PER_CONNECTION = 100
# 421: the server is closing the connection; the message was not taken and the connection is gone.
_SERVICE_CLOSING = 421


class SmtpConnection:
    """One SMTP connection, opened on first use and kept open across messages.

    A handshake (and with TLS a key exchange and with a login an AUTH) per message would cost more
    than the message itself, so the alert sender keeps a few of these open while it has work.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._client: aiosmtplib.SMTP | None = None
        self._sent = 0

    @property
    def is_open(self) -> bool:
        return self._client is not None and self._client.is_connected

    def _new_client(self) -> aiosmtplib.SMTP:
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

    async def open(self) -> aiosmtplib.SMTP:
        """Connect (TLS and login included) unless already connected; raises what the server said."""
        if self._client is not None and self._client.is_connected:
            return self._client
        await self.close()
        client = self._new_client()
        await client.connect()
        self._client, self._sent = client, 0
        return client

    async def send(self, message: OutgoingEmail) -> Exception | None:
        """Send one message; None when the server took it, else the error.

        A connection that was idle may have been dropped by the server between messages: then the
        message is sent once more on a fresh connection (the server had not taken it).
        """
        # Only a connection that has already carried a message can have gone stale while idle.
        stale_possible = self.is_open and self._sent > 0
        while True:
            try:
                client = await self.open()
            except (aiosmtplib.SMTPException, OSError) as exc:
                return exc
            try:
                await client.sendmail(message.mail_from, message.recipients, message.data)
            except aiosmtplib.SMTPRecipientsRefused as exc:
                return exc  # this message's problem; the connection is fine
            except aiosmtplib.SMTPResponseException as exc:
                if exc.code != _SERVICE_CLOSING:
                    return exc
                error: Exception = exc
            except (aiosmtplib.SMTPException, OSError) as exc:
                error = exc
            else:
                self._sent += 1
                if self._sent >= MAX_MESSAGES_PER_CONNECTION:
                    await self.close()
                return None
            # The connection is gone; once, if it may merely have gone stale, try a fresh one.
            await self.close()
            if not stale_possible:
                return error
            stale_possible = False

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        if client.is_connected:
            try:
                await client.quit()
                return
            except (aiosmtplib.SMTPException, OSError):
                pass
        client.close()


async def send_batch(settings: Settings, messages: Sequence[OutgoingEmail]) -> list[Exception | None]:
    """Send over one connection; the result for each message is None (sent) or the error.

    A server that cannot be reached fails every message at once rather than each after its own timeout;
    a refusal of one message does not stop the others.
    """
    connection = SmtpConnection(settings)
    try:
        await connection.open()
    except (aiosmtplib.SMTPException, OSError) as exc:
        return [exc] * len(messages)
    try:
        return [await connection.send(message) for message in messages]
    finally:
        await connection.close()
