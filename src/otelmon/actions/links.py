"""The action links an alert carries, for the notifiers: ``AlertView.links`` keys ``mute`` and ``ack``."""

from __future__ import annotations

from datetime import datetime, timedelta

from otelmon.actions.tokens import ACK, MUTE, sign
from otelmon.clock import utcnow
from otelmon.config import Settings

ACTIONS_PATH = "/actions"


def action_links(settings: Settings, secret: bytes, fingerprint: str, now: datetime | None = None) -> dict[str, str]:
    """``{"mute": URL, "ack": URL}`` under ``OTELMON_PUBLIC_URL``, valid ``OTELMON_ACTION_LINK_DAYS``. Each
    opens a confirmation page; only its button acts. ``secret``: storage.secret_key.secret_key()."""
    expires_at = (now or utcnow()) + timedelta(days=settings.action_link_days)
    base = f"{settings.public_url}{ACTIONS_PATH}"
    return {"mute": f"{base}/{sign(secret, MUTE, fingerprint, expires_at)}",
            "ack": f"{base}/{sign(secret, ACK, fingerprint, expires_at)}"}
