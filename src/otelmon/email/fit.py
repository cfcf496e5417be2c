"""Fitting an email under the size ceiling: as many listed rows as fit, and a last resort that always fits."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

from otelmon.email import message
from otelmon.email.message import OutgoingEmail, build_message
from otelmon.email.render import render_html, render_text
from otelmon.text import clip

log = logging.getLogger(__name__)

# The last resort's content: a few short lines and one link. Even in 4-byte characters (base64, both
# parts, the layout) that is far below the ceiling.
LAST_RESORT_LINES = 12
LAST_RESORT_LINE_CHARS = 300
LAST_RESORT_LINK_CHARS = 2000


class Sized(Protocol):
    @property
    def size(self) -> int: ...


T = TypeVar("T", bound=Sized)


def most_rows_that_fit(build: Callable[[int], T], rows: int, least: int = 0) -> T | None:
    """``build(n)`` for the largest ``n <= rows`` found whose email fits, or None if even ``build(least)``
    does not.

    Rows cost about the same each: each retry lists proportionally fewer (with a margin), so a few
    renders suffice however many rows there are.
    """
    limit = rows
    while True:
        built = build(limit)
        if built.size <= message.MAX_EMAIL_BYTES:
            return built
        if limit <= least:
            return None
        limit = max(least, min(limit - 1, int(limit * message.MAX_EMAIL_BYTES / built.size * 0.9)))


def last_resort(*, title: str, subject: str, lines: Sequence[str | None], link: str | None, link_text: str,
                mail_from: str, recipients: list[str], message_id: str,
                headers: dict[str, str] | None = None, shortened: bool = True) -> OutgoingEmail:
    """A short message saying what happened and where to read the rest: sent when nothing else fits (and,
    with ``shortened=False``, for messages that are short anyway: a test message, a recovery notice)."""
    context = {
        "title": clip(title, LAST_RESORT_LINE_CHARS),
        "lines": [clip(line, LAST_RESORT_LINE_CHARS) for line in lines if line][:LAST_RESORT_LINES],
        "link": clip(link, LAST_RESORT_LINK_CHARS),
        "link_text": clip(link_text, LAST_RESORT_LINE_CHARS),
        "limit_kb": message.MAX_EMAIL_BYTES // 1024,
        "shortened": shortened,
    }
    email = build_message(subject=subject, text=render_text("shortened.txt.j2", context),
                          html=render_html("shortened.html.j2", context), mail_from=mail_from,
                          recipients=recipients, message_id=message_id, headers=headers)
    if not email.fits:  # only a recipient list of thousands can do this: send rather than lose the alert
        log.warning("%s is %d bytes, over the %d-byte ceiling, even shortened", message_id, email.size,
                    message.MAX_EMAIL_BYTES)
    return email
