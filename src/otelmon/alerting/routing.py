"""Who receives an alert: the first route whose pattern matches ``platform/group``, else the defaults."""

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
