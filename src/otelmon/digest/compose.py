"""The digest email: rendered from the content, fitted under the size ceiling by listing fewer rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from otelmon.config import Settings
from otelmon.digest.content import DigestContent, subject
from otelmon.email.message import MAX_EMAIL_BYTES, OutgoingEmail, build_message, stable_message_id
from otelmon.email.render import render_html, render_text

HTML_TEMPLATE = "digest.html.j2"
TEXT_TEMPLATE = "digest.txt.j2"


@dataclass(frozen=True)
class ComposedDigest:
    email: OutgoingEmail
    context: dict[str, Any]
    text: str
    html: str

    @property
    def size(self) -> int:
        return self.email.size


def digest_message_id(settings: Settings, digest_id: int, installation: str) -> str:
    return stable_message_id("digest", digest_id, settings.smtp_mail_from, installation)


def compose_digest(
    rows: list[Any], settings: Settings, *, digest_id: int, recipients: list[str], window_start: datetime,
    window_end: datetime, window: timedelta, row_limit: int, installation: str = "example",
) -> ComposedDigest:
    content = DigestContent(rows, settings, digest_id=digest_id, window_start=window_start, window_end=window_end,
                            window=window)
    limit = row_limit
    while True:
        context = content.context(limit)
        text, html = render_text(TEXT_TEMPLATE, context), render_html(HTML_TEMPLATE, context)
        email = build_message(
            subject=subject(context),
            text=text,
            html=html,
            mail_from=settings.smtp_mail_from,
            recipients=recipients,
            message_id=digest_message_id(settings, digest_id, installation),
            headers={"X-OtelMon-Digest": str(digest_id)},
        )
        if email.size <= MAX_EMAIL_BYTES or limit == 0:
            return ComposedDigest(email, context, text, html)
        # Rows cost about the same each: list proportionally fewer (with a margin), count the rest.
        limit = min(limit - 1, int(limit * MAX_EMAIL_BYTES / email.size * 0.9))
