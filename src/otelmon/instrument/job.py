"""The identity of a plain Python job (a cron script, a batch in a service): what ``@traced`` and ``step()``
report outside Airflow.

Each value, first match wins: the argument given to ``@traced``, ``trace_log.configure(...)``, the
environment (``OTELMON_PLATFORM``, ``OTELMON_GROUP``, ``OTELMON_PROCESS``, ``OTELMON_RUN_ID``,
``OTELMON_TRY_NUMBER``, ``OTELMON_WILL_RETRY``), then a default: platform = the service name
(``OTEL_SERVICE_NAME`` or ``service.name`` in ``OTEL_RESOURCE_ATTRIBUTES``) or ``python``; group = the
script (or the module run with ``python -m``); process = the function's name (the outermost step's for
``step()`` alone); run id = one per process start; try number 1; will_retry false (set it when whatever
runs the job tries again after a failure: the failure is then a try that will be retried, which alerting
may hold). An owner and tags (``OTELMON_OWNER``, ``OTELMON_TAGS`` comma-separated), for routes to
receivers, are set only when given.
"""

from __future__ import annotations

import logging
import os
import secrets
import sys
import threading
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path

from otelmon.instrument import log_tail
from otelmon.instrument.spans import Identity

log = logging.getLogger("otelmon.instrument")

DEFAULT_PLATFORM = "python"
ENV = {
    "platform": "OTELMON_PLATFORM",
    "group": "OTELMON_GROUP",
    "process": "OTELMON_PROCESS",
    "run_id": "OTELMON_RUN_ID",
    "try_number": "OTELMON_TRY_NUMBER",
    "owner": "OTELMON_OWNER",
    "tags": "OTELMON_TAGS",
    "will_retry": "OTELMON_WILL_RETRY",
}
_UNNAMED_SERVICE_PREFIX = "unknown_service"

_configured: dict[str, str | int | bool | tuple[str, ...]] = {}
_lock = threading.Lock()
_process_run_id: str | None = None


def configure(*, platform: str | None = None, group: str | None = None, process: str | None = None,
              run_id: str | None = None, try_number: int | None = None, owner: str | None = None,
              tags: Iterable[str] | None = None, log_tail_lines: int | None = None,
              log_tail_bytes: int | None = None, will_retry: bool | None = None) -> None:
    """Set this process's defaults for every ``@traced`` call and ``step()`` outside Airflow; a value left
    out (None) keeps what was set before. Arguments of ``@traced`` still win. ``owner`` and ``tags`` go on
    the spans for routes that match on them.

    ``log_tail_lines`` / ``log_tail_bytes`` bound the log lines a failure carries (see ``log_tail``; they
    apply inside Airflow tasks too)."""
    log_tail.configure(lines=log_tail_lines, max_bytes=log_tail_bytes)
    given = {"platform": platform, "group": group, "process": process, "run_id": run_id, "owner": owner}
    for name, value in given.items():
        if value is not None:
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"trace_log.configure: {name} must be a non-empty string, got {value!r}")
            _configured[name] = value
    if try_number is not None:
        if isinstance(try_number, bool) or not isinstance(try_number, int) or try_number < 1:
            raise ValueError(f"trace_log.configure: try_number must be a positive integer, got {try_number!r}")
        _configured["try_number"] = try_number
    if will_retry is not None:
        if not isinstance(will_retry, bool):
            raise ValueError(f"trace_log.configure: will_retry must be True or False, got {will_retry!r}")
        _configured["will_retry"] = will_retry
    if tags is not None:
        if isinstance(tags, str) or not all(isinstance(tag, str) for tag in tags):
            raise ValueError(f"trace_log.configure: tags must be a list of strings, got {tags!r}")
        _configured["tags"] = _tags(tags)


def reset() -> None:
    """Forget ``configure()``'s values (for tests and for a long-lived process starting another job)."""
    _configured.clear()
    log_tail.reset()


def job_identity(default_process: str, *, platform: str | None = None, group: str | None = None,
                 process: str | None = None, run_id: str | None = None,
                 try_number: int | None = None, will_retry: bool | None = None) -> Identity:
    return Identity(
        platform=platform or _setting("platform") or _service_name() or DEFAULT_PLATFORM,
        group=group or _setting("group") or _program_name(),
        process=process or _setting("process") or default_process,
        run_id=run_id or _setting("run_id") or _run_id_of_this_process(),
        try_number=try_number if try_number is not None else _try_number(),
        owner=_setting("owner"),
        tags=_configured_tags(),
        will_retry=will_retry if will_retry is not None else _will_retry(),
    )


def _will_retry() -> bool:
    configured = _configured.get("will_retry")
    if isinstance(configured, bool):
        return configured
    return os.environ.get(ENV["will_retry"], "").strip().lower() in ("1", "true", "yes")


def _configured_tags() -> tuple[str, ...]:
    configured = _configured.get("tags")
    if isinstance(configured, tuple):
        return configured
    return _tags(os.environ.get(ENV["tags"], "").split(","))


def _tags(tags: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(tag.strip() for tag in tags if tag.strip()))


def _setting(name: str) -> str | None:
    value = _configured.get(name)
    if value is not None:
        return str(value)
    raw = os.environ.get(ENV[name], "").strip()
    return raw or None


def _try_number() -> int:
    configured = _configured.get("try_number")
    if isinstance(configured, int):
        return configured
    raw = os.environ.get(ENV["try_number"], "").strip()
    if not raw:
        return 1
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        log.warning("%s=%r is not a positive integer; using 1", ENV["try_number"], raw)
        return 1
    return value


def _service_name() -> str | None:
    name = os.environ.get("OTEL_SERVICE_NAME", "").strip()
    if not name:
        for pair in os.environ.get("OTEL_RESOURCE_ATTRIBUTES", "").split(","):
            key, _, value = pair.partition("=")
            if key.strip() == "service.name":
                name = value.strip()
    return name if name and not name.startswith(_UNNAMED_SERVICE_PREFIX) else None


def _program_name() -> str:
    """``nightly_billing`` for ``python nightly_billing.py``, ``billing.nightly`` for ``python -m billing.nightly``."""
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    if spec is not None and getattr(spec, "name", None):
        return spec.name.removesuffix(".__main__")
    argv0 = sys.argv[0] if sys.argv and sys.argv[0] not in ("", "-c", "-") else ""
    return Path(argv0).stem or DEFAULT_PLATFORM


def _run_id_of_this_process() -> str:
    """One run per process start: when it started (UTC), the process id, and a few random characters so a
    reused pid never joins an old run."""
    global _process_run_id
    with _lock:
        if _process_run_id is None:
            started = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
            _process_run_id = f"{started}-{os.getpid()}-{secrets.token_hex(3)}"
        return _process_run_id
