"""The contract between delivery and the integrations (docs/design.md "Notification channels").

Delivery hands a notifier a channel-neutral ``AlertView``; the notifier ``render``s it into its own format
(pure, no I/O: it runs in a worker thread at claim time, so a template error is caught before anything is
sent) and ``send``s that payload, answering with an ``Outcome``:

- ``Delivered``: the vendor accepted it (``reference`` identifies what was posted, for threads and updates);
- ``RetryLater``: a transient failure (timeout, 5xx, 429); ``after_seconds`` when the vendor said how long
  (``Retry-After``), else delivery backs off on its own schedule;
- ``PermanentFailure``: retrying cannot help (a deleted webhook, a revoked token): given up at once.

``send`` must never raise for a vendor's answer, must bound its own time (every call has a timeout), and must
never put a secret (webhook URL path, token, routing key) into a reason: reasons are stored and shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol
from urllib.parse import quote

import httpx

from otelmon.config import Settings


@dataclass(frozen=True)
class Delivered:
    reference: str | None = None


@dataclass(frozen=True)
class RetryLater:
    reason: str
    after_seconds: float | None = None


@dataclass(frozen=True)
class PermanentFailure:
    reason: str


Outcome = Delivered | RetryLater | PermanentFailure


@dataclass(frozen=True)
class AlertView:
    """What an alert says, in no channel's format. Strings are raw user data: every notifier escapes them
    for its own markup and clips them to its own limits.

    ``head`` and each of ``causes`` are ``otelmon.email.failure_view.failure_view`` dicts (platform, group,
    process, run_id, try_number, start_time, end_time, duration_seconds, error_type, error_message,
    stack_lines, log_lines, host, trace_id, trace_url, fingerprint). ``summary_rows`` (kind ``summary``) have
    platform, group, process, error_type, error_message and count.
    """

    alert_id: int
    kind: Literal["failure", "summary", "test"]
    title: str  # one plain-text line: "FAILED airflow / billing / load (+2 more in this trace)"
    status: Literal["firing", "resolved"] = "firing"
    fingerprint: str | None = None
    head: dict[str, Any] | None = None
    causes: list[dict[str, Any]] = field(default_factory=list)
    more_causes: int = 0  # failing steps not listed in ``causes``
    failure_count: int = 1
    suppressed_count: int = 0  # repeats of this fingerprint not alerted since the previous alert
    summary_rows: list[dict[str, Any]] = field(default_factory=list)
    more_summary_rows: int = 0
    storm_cap: int | None = None
    summary_groups: int = 0  # pipelines (platform/group) among a summary's failures
    # The failure's issue (docs/design.md "Pipeline runs, issues and the alert policy"): state (new, ongoing,
    # regressed, resolved), failing_since, consecutive_failed_runs, occurrences, first_seen.
    issue: dict[str, Any] | None = None
    period_start: datetime | None = None  # a summary's first and last failure
    period_end: datetime | None = None
    labels: dict[str, str] = field(default_factory=dict)  # platform, group, process, error_type, owner, tags
    # Absolute URLs by ``LINK_LABELS`` key: "trace", "failures" (dashboard), and on a failure alert its
    # page in the console ("console") and the signed actions "mute" and "ack" (a GET only shows a
    # confirmation page: docs/design.md "Silences and acknowledgement").
    links: dict[str, str] = field(default_factory=dict)
    created_at: datetime | None = None
    repeat_interval_seconds: float | None = None
    display_timezone: str = "UTC"


# Every channel shows an alert's links in this order with these labels (its own idiom: buttons, markup links,
# annotations), so a new kind of link appears in all of them at once.
LINK_LABELS = {"trace": "Open trace", "console": "Open in OtelMon", "failures": "Failures dashboard",
               "mute": "Mute 24 h", "ack": "Acknowledge"}
# Links that act on the failure: meaningless once it recovered, so a recovery never shows them.
ACTION_LINKS = frozenset({"mute", "ack"})
# What RFC 3986 allows in a URL as it is (reserved and unreserved characters, and the ``%`` of an escape);
# anything else (a space, ``"``, ``<``, ``>``, ``|``, a backtick, non-ASCII) is percent-encoded.
_URL_SAFE = ":/?#[]@!$&'()*+,;=%~"


def view_links(view: AlertView) -> list[tuple[str, str, str]]:
    """``(key, label, url)`` of each link ``view`` carries, in ``LINK_LABELS`` order. A URL is percent-encoded
    where RFC 3986 does not allow a character as it is, so it is a valid URL in any format; characters it
    does allow but a markup reads (``&``, ``(``, ``)``) are left to each notifier to escape."""
    links = dict(view.links)
    if not links.get("trace") and (view.head or {}).get("trace_url"):
        links["trace"] = view.head["trace_url"]  # type: ignore[index]
    return [(key, label, quote(links[key], safe=_URL_SAFE)) for key, label in LINK_LABELS.items()
            if links.get(key) and not (key in ACTION_LINKS and view.status == "resolved")]


@dataclass
class NotifyContext:
    """What every notifier may use: the settings, one shared HTTP client (timeouts and connection limits set
    once), and the installation id (part of stable message ids)."""

    settings: Settings
    http: httpx.AsyncClient
    installation: str = ""
    # State an integration shares between all its targets of one sender (email's SMTP connections), by
    # integration name; an integration module with ``async def aclose(context)`` releases it.
    shared: dict[str, Any] = field(default_factory=dict)


class Notifier(Protocol):
    def render(self, view: AlertView, thread: str | None) -> Any:
        """The payload for ``view``; ``thread`` is the reference an earlier alert of the same fingerprint
        got from this same target (a Slack ts, a Message-ID), so a repeat or a recovery can join it."""

    async def send(self, payload: Any) -> Outcome:
        """Deliver ``payload``; never raises for what the vendor answered."""
