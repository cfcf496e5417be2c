"""One digest run: resend what earlier runs claimed but did not send, then claim and send what is new."""

from __future__ import annotations

import logging
import os
import socket
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine

from otelmon.alerting.delivery import lease_seconds
from otelmon.clock import utcnow
from otelmon.config import Settings
from otelmon.digest import ledger
from otelmon.digest.claim import Claim, claim_digest, preview_claim
from otelmon.digest.options import DigestOptions
from otelmon.digest.send import DigestGivenUp, Sent, send_claimed
from otelmon.storage.migrate import migrate, pending
from otelmon.storage.tables import Tables

log = logging.getLogger(__name__)


class NoRecipients(ValueError):
    pass


class SchemaNotReady(RuntimeError):
    """A preview found no OtelMon schema, or an older one; it migrates nothing, so it stops."""


@dataclass
class RunResult:
    resent: list[Sent] = field(default_factory=list)
    sent: Sent | None = None
    # Unsent digests another live run is sending; left to it.
    busy: list[int] = field(default_factory=list)
    # Digests that failed their last allowed send in this run; their failures went into the new claim.
    given_up: list[int] = field(default_factory=list)

    @property
    def emails(self) -> int:
        return len(self.resent) + (1 if self.sent else 0)

    def summary(self) -> dict:
        """JSON-friendly (it is the Airflow task's XCom)."""
        return {
            "resent": [s.digest_id for s in self.resent],
            "sent": self.sent.digest_id if self.sent else None,
            "failures": self.sent.failure_count if self.sent else 0,
            "busy": self.busy,
            "given_up": self.given_up,
        }


def default_owner() -> str:
    """A run that is never retried as such: its unsent digests wait for their lease to run out."""
    return f"cli:{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def lease_for(settings: Settings) -> timedelta:
    # The immediate alerts' rule: longer than one SMTP conversation, so only a dead sender is overtaken.
    return timedelta(seconds=lease_seconds(settings))


def prepare(engine: Engine) -> Tables:
    """Schema up to date (the digest may run before the API ever started), tables reflected."""
    migrate(engine)
    return Tables.reflect(engine)


def run_digest(engine: Engine, settings: Settings, options: DigestOptions, *, owner: str) -> RunResult:
    """Raises ``DigestSendError`` when an email could not be sent: that digest is left for the next run."""
    if not options.recipients:
        raise NoRecipients("no digest recipients: set OTELMON_DIGEST_RECIPIENTS or OTELMON_ALERT_RECIPIENTS")
    tables = prepare(engine)
    lease = lease_for(settings)
    result = RunResult()
    with engine.connect() as conn:
        unsent = ledger.unsent(conn, tables)
    # Older digests first, and nothing new is claimed while one of ours cannot be sent (the error stops
    # the run): new failures wait for the next digest instead of piling up in unsendable ones.
    for row in unsent:
        try:
            sent = send_claimed(engine, tables, settings, row.id, owner=owner, now=utcnow(), lease=lease,
                                recipients=options.recipients)
        except DigestGivenUp as exc:
            log.error("%s", exc)
            result.given_up.append(row.id)
            continue
        if sent is None:
            result.busy.append(row.id)
        else:
            result.resent.append(sent)
    claim = claim_digest(engine, tables, settings, options, owner=owner, now=utcnow(), lease=lease)
    if claim is None:
        log.info("digest: no new failures, nothing to send")
        return result
    result.sent = send_claimed(engine, tables, settings, claim.digest_id, owner=owner, now=utcnow(), lease=lease)
    return result


def preview(engine: Engine, settings: Settings, options: DigestOptions,
            now: datetime | None = None) -> tuple[list, Claim | None]:
    """What a run would do ``now`` (default: now), changing nothing: the unsent digests it would resend, and
    the new claim."""
    missing = pending(engine)
    if missing:
        raise SchemaNotReady(f"this database has no OtelMon schema or an older one (not applied: "
                             f"{', '.join(missing)}); `otelmon migrate` or `otelmon serve` brings it up to date")
    tables = Tables.reflect(engine)
    with engine.connect() as conn:
        unsent = ledger.unsent(conn, tables)
    return unsent, preview_claim(engine, tables, settings, options, now=now or utcnow())
