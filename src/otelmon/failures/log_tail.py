"""The last log lines of a failing try (``otelmon.log.tail``, set by our instrumentation on the span that
reports the failure, see ``otelmon.instrument.log_tail``): one string, lines separated by newlines, oldest
first. Both ends bound it in bytes the same way, keeping the newest lines: they are nearest the failure."""

from __future__ import annotations

from otelmon.failures.values import as_text

# What the receiver keeps of one failure's tail, whatever a client sends (the instrumentation's default
# is 8 KiB): a few screens of lines, small beside the stack trace's cap.
STORED_BYTES = 64 * 1024
_CUT = "…"


def newest_lines(text: str, max_bytes: int) -> str:
    """``text`` without its oldest lines, so that it is at most ``max_bytes`` UTF-8 bytes; a single line
    longer than that keeps its start, marked with an ellipsis."""
    encoded = text.encode("utf-8", "replace")
    if len(encoded) <= max_bytes:
        return text
    if max_bytes <= 0:
        return ""
    start = len(encoded) - max_bytes
    kept = encoded[start:]
    if encoded[start - 1:start] == b"\n":  # the cut falls between two lines
        return kept.decode("utf-8", "replace")
    newline = kept.find(b"\n")
    if newline >= 0:
        return kept[newline + 1:].decode("utf-8", "replace")
    # Only part of the newest line fits.
    marker = _CUT.encode()
    return encoded.rsplit(b"\n", 1)[-1][:max(max_bytes - len(marker), 0)].decode("utf-8", "ignore") + _CUT


def stored_tail(value: object) -> str | None:
    """A span attribute's value as the tail the receiver stores: text, bounded, None when empty."""
    if isinstance(value, (list, tuple)):  # another client may send the lines as an array
        value = "\n".join(str(line) for line in value)
    text = as_text(value)
    if text is None:
        return None
    text = newest_lines(text, STORED_BYTES).strip("\n")
    return text or None
