"""Send a claimed digest and record it; any run may resend one whose sender died, with its Message-ID."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parseaddr

from sqlalchemy import Engine

from otelmon.clock import utcnow
from otelmon.config import Settings
from otelmon.digest import ledger
from otelmon.email.message import OutgoingEmail
from otelmon.email.smtp import send_batch
from otelmon.storage.tables import Tables

log = logging.getLogger(__name__)


class DigestSendError(RuntimeError):
    """The digest is marked ``send_failed``: the next run, whoever starts it, resends it first."""


class DigestGivenUp(DigestSendError):
    """The digest failed its last allowed send: given up, its failures handed back to the next digest."""


@dataclass(frozen=True)
class Sent:
    digest_id: int
    failure_count: int
    message_id: str
    attempts: int


def send_claimed(
    engine: Engine, tables: Tables, settings: Settings, digest_id: int, *, owner: str, now: datetime,
    lease: timedelta, recipients: list[str] | None = None,
) -> Sent | None:
    """Send digest ``digest_id`` if this run may (see ``ledger.take_lease``); None when another run holds it.

    The stored message goes out unchanged. ``recipients``, when given, replace the stored envelope
    recipients: a digest the old addresses refused reaches the ones configured now (its To header still
    names the old ones).
    """
    row = ledger.take_lease(engine, tables, digest_id, owner=owner, now=now, lease=lease)
    if row is None:
        return None
    email = OutgoingEmail(
        mail_from=parseaddr(settings.smtp_mail_from)[1],
        recipients=[parseaddr(r)[1] for r in (recipients or json.loads(row.recipients))],
        subject=row.subject,
        message_id=row.message_id,
        data=row.message.encode("ascii"),
    )
    (error,) = asyncio.run(send_batch(settings, [email]))
    if error is not None:
        text = f"{type(error).__name__}: {error}"
        if ledger.record_failed_send(engine, tables, digest_id, owner=owner, error=text,
                                     max_attempts=settings.digest_max_attempts):
            raise DigestGivenUp(f"digest #{digest_id} given up after {row.attempts} attempts ({text}): its "
                                f"{row.failure_count} failures go into the next digest")
        raise DigestSendError(f"digest #{digest_id} not sent (attempt {row.attempts}): {text}")
    # A crash here leaves the digest claimed: its resend carries the same Message-ID, so mail clients
    # and the recipients see one digest.
    ledger.record_sent(engine, tables, digest_id, utcnow())
    log.info("digest #%d sent: %d failures, %s", digest_id, row.failure_count, row.message_id)
    return Sent(digest_id, row.failure_count, row.message_id, row.attempts)
