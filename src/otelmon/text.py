"""Shortening text for columns, headers and emails: one rule everywhere."""

from __future__ import annotations

ELLIPSIS = "…"


def clip(text: str | None, limit: int | None) -> str | None:
    """``text`` cut to at most ``limit`` characters, the last one an ellipsis when anything was cut."""
    if text is None or limit is None or len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)] + ELLIPSIS
