"""Who receives an alert: the first route whose pattern matches ``platform/group``, else the defaults.

Resolved when an alert is sent, from the settings of the process sending it (docs/design.md "Notification
channels"): an alert dispatched while nothing was configured goes out once something is.
"""

from __future__ import annotations

from collections.abc import Iterable
from fnmatch import fnmatchcase

from otelmon.config import Settings


def recipients_for(settings: Settings, platform: str, group: str) -> list[str]:
    key = f"{platform}/{group}"
    for route in settings.alert_routes:
        if fnmatchcase(key, route.match):
            return list(route.to)
    return list(settings.alert_recipients)


def recipients_for_many(settings: Settings, pipelines: Iterable[tuple[str, str]]) -> list[str]:
    seen: dict[str, None] = {}
    for platform, group in pipelines:
        for address in recipients_for(settings, platform, group):
            seen.setdefault(address, None)
    return list(seen)


class Unroutable(Exception):
    """Routing yields no recipient for an alert: it waits, unsent and not retried, until one is configured."""

    def __init__(self, pipelines: Iterable[tuple[str, str]]) -> None:
        names = sorted({f"{platform}/{group}" for platform, group in pipelines})
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        super().__init__(f"no recipients: set OTELMON_ALERT_RECIPIENTS or a route for {shown or 'its pipelines'}"
                         " (OTELMON_ALERT_ROUTES)")


def can_route_any(settings: Settings) -> bool:
    """Whether any pipeline at all has a recipient: if not, unroutable alerts need not be looked at."""
    return bool(settings.alert_recipients) or any(route.to for route in settings.alert_routes)


def routing_warnings(settings: Settings) -> list[str]:
    """What start-up logs and ``/readyz`` reports about where alerts can go."""
    if not settings.alerts_enabled or settings.alert_recipients:
        return []
    if can_route_any(settings):
        return ["no default alert recipients: alerts of pipelines that match no OTELMON_ALERT_ROUTES entry wait"
                " as 'unroutable' until OTELMON_ALERT_RECIPIENTS is set"]
    return ["no alert recipients configured: alerts wait as 'unroutable' until OTELMON_ALERT_RECIPIENTS"
            " (or OTELMON_ALERT_ROUTES) is set and the API restarted"]
