"""Apprise URLs for every channel without an integration of its own (``pip install otelmon[apprise]``).

Apprise answers only "sent" or "not sent": not sent is retried (delivery bounds the attempts); a URL Apprise
cannot parse fails at once. Its plugins send with ``requests`` in worker threads; loading a URL runs in a
thread too, and the whole call is bounded by ``TIMEOUT_SECONDS``, so the event loop never waits on it.
Reasons name the URL's scheme only: the rest of an Apprise URL holds tokens.
"""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import datetime, timezone
from typing import Any

from pydantic import BaseModel, ConfigDict, SecretStr, model_validator

from otelmon.alerting.notify.base import (
    AlertView,
    Delivered,
    NotifyContext,
    Outcome,
    PermanentFailure,
    RetryLater,
    view_links,
)
from otelmon.alerting.notify.wording import issue_line
from otelmon.text import clip

INSTALL_HINT = "the apprise integration needs the apprise package: pip install otelmon[apprise]"
TIMEOUT_SECONDS = 30.0
TITLE_CHARS = 250
# Apprise splits or clips per service beyond this; most chat services take about 4000 characters.
BODY_CHARS = 4000
LINE_CHARS = 500
CAUSES_LISTED = 10
ROWS_LISTED = 20


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: SecretStr

    @model_validator(mode="before")
    @classmethod
    def _bare_url(cls, value: object) -> object:
        return {"url": value} if isinstance(value, str) else value


def build(config: Config, context: NotifyContext, receiver: str) -> AppriseNotifier:
    try:
        import apprise
    except ImportError as exc:
        raise RuntimeError(INSTALL_HINT) from exc
    # Apprise's plugins log the full URL (tokens included) at debug level: never below info.
    library_log = logging.getLogger("apprise")
    if library_log.getEffectiveLevel() < logging.INFO:
        library_log.setLevel(logging.INFO)
    return AppriseNotifier(config, apprise)


def scheme_of(url: str) -> str:
    """The URL's scheme, the one part of it a reason may show."""
    scheme = url.split("://", 1)[0] if "://" in url else ""
    return scheme if re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]{0,31}", scheme) else "(none)"


def _when(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:  # the database's times are naive UTC
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _where(row: dict[str, Any]) -> str:
    return " / ".join(str(row.get(key)) for key in ("platform", "group", "process"))


def _error(row: dict[str, Any]) -> str:
    return ": ".join(str(part) for part in (row.get("error_type"), row.get("error_message")) if part)


def text_lines(view: AlertView) -> list[str]:
    """The alert as plain text (Apprise turns it into each service's format, escaping as it goes)."""
    head = view.head or {}
    lines: list[str] = []
    if view.kind == "test":
        lines.append("If you read this, OtelMon can reach this channel.")
    if head:
        lines.append(issue_line(view.issue, view.display_timezone) or "")
        lines.append(_error(head))
        run = head.get("run_id")
        if run:
            tries = f" (try {head['try_number']})" if head.get("try_number") is not None else ""
            lines.append(f"Run {run}{tries}" + (f" on {head['host']}" if head.get("host") else ""))
        if _when(head.get("end_time")):
            lines.append(f"Failed at {_when(head.get('end_time'))}")
    if view.causes:
        lines.append("Also failed in this trace:")
        lines += [f"- {_where(cause)}: {_error(cause)}" for cause in view.causes[:CAUSES_LISTED]]
    more = view.more_causes + max(len(view.causes) - CAUSES_LISTED, 0)
    if more:
        lines.append(f"... and {more} more failing steps")
    if view.kind == "failure" and view.suppressed_count:
        lines.append(f"{view.suppressed_count} repeats since the last alert were not sent.")
    if view.summary_rows:
        lines += [f"- {row.get('count')} x {_where(row)}: {_error(row)}" for row in view.summary_rows[:ROWS_LISTED]]
        more = view.more_summary_rows + max(len(view.summary_rows) - ROWS_LISTED, 0)
        if more:
            lines.append(f"... and {more} more")
    lines += [f"{label}: {url}" for _, label, url in view_links(view)]
    return [clip(" ".join(line.split()), LINE_CHARS) for line in lines if line]


class AppriseNotifier:
    def __init__(self, config: Config, apprise: Any) -> None:
        self.config = config
        self.apprise = apprise
        self.timeout = TIMEOUT_SECONDS

    def render(self, view: AlertView, thread: str | None) -> dict[str, str]:
        if view.kind == "test":
            notify_type = "info"
        elif view.status == "resolved":
            notify_type = "success"
        else:
            notify_type = "warning" if view.kind == "summary" else "failure"
        return {"title": clip(" ".join(view.title.split()), TITLE_CHARS),
                "body": clip("\n".join(text_lines(view)) or view.title, BODY_CHARS), "notify_type": notify_type}

    def _load(self, url: str) -> Any:
        client = self.apprise.Apprise()
        return client if client.add(url) else None

    async def _notify(self, url: str, payload: dict[str, str]) -> bool | None:
        """True when sent, False when not, None when Apprise cannot use ``url``."""
        client = await asyncio.to_thread(self._load, url)
        if client is None:
            return None
        return bool(await client.async_notify(body=payload["body"], title=payload["title"],
                                              notify_type=self.apprise.NotifyType(payload["notify_type"]),
                                              body_format=self.apprise.NotifyFormat.TEXT))

    async def send(self, payload: dict[str, str]) -> Outcome:
        url = self.config.url.get_secret_value()
        scheme = scheme_of(url)
        try:
            sent = await asyncio.wait_for(self._notify(url, payload), self.timeout)
        except asyncio.TimeoutError:
            return RetryLater(f"Apprise ({scheme}://) did not finish within {self.timeout:g} s")
        except Exception as exc:  # a plugin's bug must not end delivery: its name only, its text may hold the URL
            return RetryLater(f"Apprise ({scheme}://) failed: {type(exc).__name__}")
        if sent is None:
            return PermanentFailure(f"Apprise cannot use this URL (scheme {scheme}://)")
        if sent:
            return Delivered()
        return RetryLater(f"Apprise ({scheme}://) reported the notification was not sent")
