"""Jinja2 templates in ``otelmon/templates``; HTML autoescaped, CSS inlined for mail clients."""

from __future__ import annotations

from datetime import datetime, timezone
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import css_inline
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

_INLINER = css_inline.CSSInliner(keep_style_tags=False, load_remote_stylesheets=False)


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("otelmon", "templates"),
        # Everything in an HTML template is escaped; *.txt.j2 is plain text and left alone.
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default_for_string=True, default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        # Templates ship with the package and never change while it runs: no stat() per render.
        auto_reload=False,
        lstrip_blocks=True,
    )
    env.filters["duration"] = format_duration
    env.filters["utc"] = format_utc
    env.filters["local"] = format_local
    return env


def render_html(template: str, context: dict[str, Any]) -> str:
    return _INLINER.inline(environment().get_template(template).render(**context))


def render_text(template: str, context: dict[str, Any]) -> str:
    return environment().get_template(template).render(**context)


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min {secs:02d} s"


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


def format_utc(moment: datetime | None) -> str:
    if moment is None:
        return "–"
    return _aware(moment).astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + " UTC"


def format_local(moment: datetime | None, zone: str) -> str:
    if moment is None or zone == "UTC":
        return ""
    local = _aware(moment).astimezone(ZoneInfo(zone))
    return local.strftime("%Y-%m-%d %H:%M:%S ") + (local.tzname() or zone)
