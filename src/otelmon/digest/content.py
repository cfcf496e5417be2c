"""What a digest says: the summary, a section per platform and group, and which rows fit the row limit.

Pure functions of the selected rows, so the same rows always give the same email.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

from otelmon.config import Settings
from otelmon.email.failure_view import failure_view, shortened
from otelmon.email.render import format_local
from otelmon.links import dashboard_url
from otelmon.text import clip

FAILURES_DASHBOARD_UID = "otelmon-failures"
MESSAGE_CHARS = 300
TOP_GROUPS = 10
TOP_ERRORS = 5
# Groups left without a listed row are named in one line, up to this many.
UNLISTED_GROUP_NAMES = 20
_ERROR_KEY_CHARS = 120
# Platform names in the subject are clipped so that the window at its end survives the header's limit.
SUBJECT_NAME_CHARS = 30

# The immediate alert's fate of a failure (alert_outbox.state) when it was not simply emailed.
ALERT_LABELS = {
    "new": "alert pending",
    "suppressed": "repeat, not emailed",
    "held": "storm, in a summary",
    "summarized": "storm, in a summary",
    "silenced": "silenced",
}
SUPPRESSED = "suppressed"


def window_label(window: timedelta) -> str:
    seconds = int(window.total_seconds())
    if seconds % 86400 == 0 and seconds >= 2 * 86400:
        return f"{seconds // 86400} days"
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    return f"{seconds // 60} min"


def _epoch_ms(moment: datetime) -> int:
    return int(moment.replace(tzinfo=timezone.utc).timestamp() * 1000)


def failures_link(settings: Settings, start: datetime, end: datetime, platform: str | None = None,
                  group: str | None = None) -> str:
    """The failures dashboard over the digest's window, filtered to one group when given."""
    query: dict[str, Any] = {"from": _epoch_ms(start), "to": _epoch_ms(end) + 1000}
    if platform is not None:
        query["var-platform"] = platform
    if group is not None:
        query["var-group"] = group
    return f"{dashboard_url(settings, FAILURES_DASHBOARD_UID)}?{urlencode(query)}"


def allot_rows(counts: list[int], limit: int) -> list[int]:
    """Rows listed per section: every section gets an equal share before any gets more (water-filling)."""
    if sum(counts) <= limit:
        return list(counts)
    level = 0
    while sum(min(c, level + 1) for c in counts) <= limit:
        level += 1
    shares = [min(c, level) for c in counts]
    spare = limit - sum(shares)
    for index, count in enumerate(counts):
        if spare == 0:
            break
        if count > shares[index]:
            shares[index] += 1
            spare -= 1
    return shares


def time_span(start: datetime, end: datetime, zone: str) -> str:
    """``2026-11-22 05:43:29 → 05:45:58 UTC``: the end's date only when it differs from the start's."""
    end_format = "%H:%M:%S" if start.date() == end.date() else "%Y-%m-%d %H:%M:%S"
    text = f"{start:%Y-%m-%d %H:%M:%S} → {end.strftime(end_format)} UTC"
    local = format_local(end, zone)
    return f"{text} (ended {local})" if local else text


def _row_view(row: Any, settings: Settings, text: TextLimits) -> dict[str, Any]:
    view = shortened(failure_view(row, settings, stack_lines=0), message_chars=text.message_chars,
                     name_chars=text.name_chars)
    view["times"] = time_span(row.start_time, row.end_time, settings.display_timezone)
    state = row.alert_state
    view["alert_label"] = ALERT_LABELS.get(state or "", "")
    view["suppressed"] = state == SUPPRESSED
    # The issue of the failure's fingerprint, now: new, ongoing, regressed (or resolved since).
    mapping = row._mapping
    view["issue_state"] = mapping.get("issue_state")
    failing_since = mapping.get("failing_since")
    view["failing_since"] = (f"failing since {failing_since:%Y-%m-%d %H:%M} UTC, "
                             f"{mapping.get('consecutive_failed_runs') or 0} failed run(s) in a row"
                             if failing_since is not None and view["issue_state"] != "resolved" else "")
    return view


def recovered_after_retry(row: Any) -> bool:
    """A try that was to be retried, and a later try of the same run succeeded."""
    return bool(row._mapping.get("recovered"))


def _error_key(row: Any) -> tuple[str, str]:
    first_line = (row.error_message or "").strip().partition("\n")[0]
    return row.error_type or "Error", clip(first_line, _ERROR_KEY_CHARS) or ""


@dataclass(frozen=True)
class TextLimits:
    """How long error messages and names may be in the email (an ellipsis marks a cut)."""

    message_chars: int = MESSAGE_CHARS
    name_chars: int | None = None
    # A link filtered to one group carries its names percent-encoded (a CJK character in nine bytes):
    # without them, a group's links open the dashboard over the whole window.
    group_links: bool = True
    unlisted_group_names: int = UNLISTED_GROUP_NAMES


class DigestContent:
    """The digest's facts, computed once from ``get_new_failed_processes.sql`` rows (newest first);
    :meth:`context` lays them out for the templates with a given number of listed rows."""

    def __init__(self, rows: list[Any], settings: Settings, *, digest_id: int, window_start: datetime,
                 window_end: datetime, window: timedelta, text: TextLimits = TextLimits()) -> None:
        if not rows:
            raise ValueError("a digest needs at least one failure")
        self.rows, self.settings, self.text = rows, settings, text
        name = self._name
        self.window_start, self.window_end = window_start, window_end
        self.by_group: dict[tuple[str, str], list[Any]] = {}
        self.recovered = [row for row in rows if recovered_after_retry(row)]
        errors: Counter[tuple[str, str]] = Counter()
        error_groups: dict[tuple[str, str], set[tuple[str, str]]] = {}
        for row in rows:
            if recovered_after_retry(row):
                continue  # listed in their own section: nobody needs to act on them
            group = (row.platform, row.group_name)
            self.by_group.setdefault(group, []).append(row)
            key = _error_key(row)
            errors[key] += 1
            error_groups.setdefault(key, set()).add(group)
        by_group = self.by_group
        # Platforms alphabetically; inside one, the groups that failed most first.
        self.section_keys = sorted(by_group, key=lambda k: (k[0], -len(by_group[k]), k[1]))
        groups_ranked = sorted(by_group, key=lambda k: (-len(by_group[k]), k))
        self.summary = {
            "title": f"OtelMon digest #{digest_id}",
            "digest_id": digest_id,
            "total": len(rows),
            "group_total": len(by_group),
            "window_label": window_label(window),
            "window_start": window_start,
            "window_end": window_end,
            "window_text": f"{window_start:%Y-%m-%d %H:%M} – {window_end:%Y-%m-%d %H:%M} UTC",
            "display_tz": settings.display_timezone,
            "platforms": [(name(p), n) for p, n in Counter(row.platform for row in rows).most_common()],
            "top_groups": [{"platform": name(k[0]), "group": name(k[1]), "count": len(by_group[k])}
                           for k in groups_ranked[:TOP_GROUPS]],
            "more_groups": max(len(by_group) - TOP_GROUPS, 0),
            "first": _row_view(min(rows, key=lambda r: (r.end_time, r.id)), settings, text),
            "last": _row_view(max(rows, key=lambda r: (r.end_time, r.id)), settings, text),
            "top_errors": [{"error_type": name(k[0]), "message": clip(k[1], text.message_chars), "count": n,
                            "groups": len(error_groups[k])}
                           for k, n in errors.most_common(TOP_ERRORS)],
            "suppressed_total": sum(1 for r in rows if r.alert_state == SUPPRESSED),
            "failures_url": failures_link(settings, window_start, window_end),
        }

    def _name(self, value: str) -> str:
        return clip(value, self.text.name_chars) or ""

    def context(self, row_limit: int) -> dict[str, Any]:
        """The templates' context with at most ``row_limit`` failures listed, shared fairly by the groups."""
        shares = allot_rows([len(self.by_group[k]) for k in self.section_keys], row_limit)
        sections, unlisted = [], []
        for key, share in zip(self.section_keys, shares, strict=True):
            members = self.by_group[key]
            section = {
                "platform": self._name(key[0]),
                "group": self._name(key[1]),
                "count": len(members),
                "suppressed": sum(1 for r in members if r.alert_state == SUPPRESSED),
                "rows": [_row_view(r, self.settings, self.text) for r in members[:share]],
                "hidden": len(members) - share,
                "dashboard_url": failures_link(self.settings, self.window_start, self.window_end,
                                               *(key if self.text.group_links else ())),
            }
            (sections if share else unlisted).append(section)
        listed = sum(len(s["rows"]) for s in sections)
        recovered = [_row_view(r, self.settings, self.text) for r in self.recovered[:row_limit]]
        listed += len(recovered)
        return {
            **self.summary,
            "recovered": recovered,
            "recovered_total": len(self.recovered),
            "sections": sections,
            "listed": listed,
            "not_listed": len(self.rows) - listed,
            "unlisted_groups": unlisted[:self.text.unlisted_group_names],
            "unlisted_group_total": len(unlisted),
            "unlisted_failures": sum(s["count"] for s in unlisted),
        }


def subject(context: dict[str, Any]) -> str:
    total, groups = context["total"], context["group_total"]
    platforms = ", ".join(clip(name, SUBJECT_NAME_CHARS) for name, _ in context["platforms"][:3])
    more = "…" if len(context["platforms"]) > 3 else ""
    return (
        f"[OtelMon] Digest: {total} new failure{'' if total == 1 else 's'} in {groups} "
        f"group{'' if groups == 1 else 's'} ({platforms}{more}), last {context['window_label']}"
    )
