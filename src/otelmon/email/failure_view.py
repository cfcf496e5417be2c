"""A failure row as email templates see it: clipped message, first lines of the stack trace, last log lines,
trace link."""

from __future__ import annotations

from typing import Any

from otelmon.config import Settings
from otelmon.links import trace_url
from otelmon.text import clip

MESSAGE_CHARS = 2000
STACK_LINE_CHARS = 300
# The last lines the try logged (already masked by the instrumentation): the newest, each line's start.
LOG_LINES = 50
LOG_LINE_CHARS = 500


def failure_view(row: Any, settings: Settings, stack_lines: int = 40, log_lines: int = LOG_LINES) -> dict[str, Any]:
    data = dict(row._mapping) if hasattr(row, "_mapping") else dict(row)
    full_message = data.get("error_message")
    message = clip(full_message, MESSAGE_CHARS)
    lines = (data.get("stacktrace") or "").splitlines()
    shown = [clip(line, STACK_LINE_CHARS) for line in lines]
    shown = shown[:stack_lines]
    logged = (data.get("log_tail") or "").splitlines()
    log_shown = [clip(line, LOG_LINE_CHARS) for line in logged[len(logged) - log_lines:]] if log_lines > 0 else []
    start, end = data["start_time"], data["end_time"]
    return {
        "id": data.get("id"),
        "platform": data["platform"],
        "group": data["group_name"],
        "process": data["process_name"],
        "run_id": data.get("run_id"),
        "try_number": data.get("try_number"),
        "start_time": start,
        "end_time": end,
        "duration_seconds": (end - start).total_seconds() if start and end else None,
        "error_type": data.get("error_type"),
        "error_message": message,
        "message_truncated": message != full_message,
        "stack_lines": shown,
        "stack_truncated": len(shown) < len(lines) or any(len(line) > STACK_LINE_CHARS for line in lines),
        "log_lines": log_shown,
        "log_truncated": len(log_shown) < len(logged) or any(len(line) > LOG_LINE_CHARS for line in logged),
        "host": data.get("host"),
        "trace_id": data.get("trace_id"),
        "trace_url": trace_url(settings, data.get("trace_id")),
        "fingerprint": data.get("fingerprint"),
    }


def shortened(view: dict[str, Any], *, message_chars: int | None = None,
              name_chars: int | None = None) -> dict[str, Any]:
    """``view`` with its error message and names clipped (an ellipsis marks the cut), to fit an email."""
    out = dict(view)
    message = clip(view["error_message"], message_chars)
    out["error_message"] = message
    out["message_truncated"] = view.get("message_truncated", False) or message != view["error_message"]
    for key in ("platform", "group", "process"):
        if key in out:
            out[key] = clip(out[key], name_chars)
    return out
