"""The digest email: rendered from the content, fitted under the size ceiling by listing fewer rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from typing import Any

from otelmon.config import Settings
from otelmon.digest.content import DigestContent, TextLimits, subject
from otelmon.email.fit import last_resort, most_rows_that_fit
from otelmon.email.message import OutgoingEmail, build_message, stable_message_id
from otelmon.email.render import render_html, render_text

HTML_TEMPLATE = "digest.html.j2"
TEXT_TEMPLATE = "digest.txt.j2"
# Tried in order, each with as many listed rows as fit: names of a readable length first; if even the
# summary alone is too big (thousands of long names), shorter ones. Beyond these, ``last_resort``.
_TEXT_LIMITS = (TextLimits(name_chars=120),
                TextLimits(message_chars=100, name_chars=60, group_links=False, unlisted_group_names=5))


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
    message_id = digest_message_id(settings, digest_id, installation)
    headers = {"X-OtelMon-Digest": str(digest_id)}
    for limits in _TEXT_LIMITS:
        content = DigestContent(rows, settings, digest_id=digest_id, window_start=window_start,
                                window_end=window_end, window=window, text=limits)

        def build(limit: int, content: DigestContent = content) -> ComposedDigest:
            context = content.context(limit)
            text, html = render_text(TEXT_TEMPLATE, context), render_html(HTML_TEMPLATE, context)
            return ComposedDigest(build_message(subject=subject(context), text=text, html=html,
                                                mail_from=settings.smtp_mail_from, recipients=recipients,
                                                message_id=message_id, headers=headers), context, text, html)

        composed = most_rows_that_fit(build, row_limit)
        if composed is not None:
            return composed
    context = content.context(0)
    email = last_resort(
        title=context["title"], subject=subject(context), link=context["failures_url"],
        link_text="Open the failures dashboard", mail_from=settings.smtp_mail_from, recipients=recipients,
        message_id=message_id, headers=headers, lines=[
            f"OtelMon digest #{digest_id}: {context['total']} new failures in {context['group_total']} groups, "
            f"last {context['window_label']}",
            context["window_text"],
            f"{len(context['platforms'])} platforms, {context['suppressed_total']} repeats not emailed immediately.",
        ])
    parsed = message_from_bytes(email.data, policy=policy.default)
    text, html = (parsed.get_body((kind,)).get_content() for kind in ("plain", "html"))
    return ComposedDigest(email, {**context, "listed": 0, "not_listed": context["total"]}, text, html)
