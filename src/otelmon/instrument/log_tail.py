"""The last lines a traced try logged, kept in memory so that its failure carries them (``otelmon.log.tail``).

While a try is owned (``owner``: a task try, the outermost ``@traced`` call or ``step()``, a NiFi FlowFile)
every log record ``logging`` makes is formatted into that try's ring buffer of the last lines (see ``_wrap``
for why this hooks the record factory rather than adding a handler). The hook is removed when the last try
ends, so nothing is captured outside a try. Records go to the try of the context that logs them; a thread
started without that context (a plain ``threading.Thread``) still lands in the try when only one is
running, and nowhere when several are (no try shows another's lines).

What is captured is what the job's loggers let through their level (WARNING unless the job configures
logging, INFO in Airflow tasks); ``print`` and structlog loggers that bypass ``logging`` are not.
Every record is masked (``scrub``) before it is kept, so secrets never reach the span.

Bounds: ``OTELMON_LOG_TAIL_LINES`` (default 50, 0 turns it off) and ``OTELMON_LOG_TAIL_BYTES`` (default 8 KiB),
or ``trace_log.configure(log_tail_lines=..., log_tail_bytes=...)``; the newest lines are kept.
"""

from __future__ import annotations

import contextvars
import logging
import os
import sys
import threading
import time
from collections import deque
from typing import Any

from opentelemetry.trace import Span

from otelmon.failures import attributes as k
from otelmon.failures.log_tail import newest_lines
from otelmon.instrument.scrub import scrub

log = logging.getLogger("otelmon.instrument")

LINES_ENV = "OTELMON_LOG_TAIL_LINES"
BYTES_ENV = "OTELMON_LOG_TAIL_BYTES"
DEFAULT_LINES = 50
DEFAULT_BYTES = 8 * 1024
# A record is cut to about this many characters (at least four times the byte bound) before it is masked,
# so a runaway record costs bounded time; see ``_bounded``.
_RECORD_CHARS = 64 * 1024

_configured: dict[str, int] = {}


def configure(*, lines: int | None = None, max_bytes: int | None = None) -> None:
    """Set the bounds for tries that start from now on; None keeps what was set before."""
    for name, value in (("lines", lines), ("bytes", max_bytes)):
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"trace_log.configure: log_tail_{name} must be an integer >= 0, got {value!r}")
            _configured[name] = value


def reset() -> None:
    _configured.clear()


def limits() -> tuple[int, int]:
    """(lines, bytes) for a try starting now: ``configure()``, then the environment, then the defaults."""
    return _limit("lines", LINES_ENV, DEFAULT_LINES), _limit("bytes", BYTES_ENV, DEFAULT_BYTES)


def _limit(name: str, env: str, default: int) -> int:
    if name in _configured:
        return _configured[name]
    raw = os.environ.get(env, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0:
        log.warning("%s=%r is not an integer >= 0; using %s", env, raw, default)
        return default
    return value


class Tail:
    """A ring buffer of the newest lines, at most ``max_lines`` lines and ``max_bytes`` UTF-8 bytes joined."""

    def __init__(self, max_lines: int, max_bytes: int) -> None:
        self.max_lines = max_lines
        self.max_bytes = max_bytes
        self._lines: deque[tuple[str, int]] = deque()
        self._bytes = 0  # of the lines joined by newlines: each line's size plus one
        self._lock = threading.Lock()
        self.open = True

    def add(self, text: str) -> None:
        """Keep ``text``'s lines (a record may span several, e.g. a traceback), dropping the oldest."""
        with self._lock:
            for line in text.splitlines():
                line = newest_lines(line, self.max_bytes)
                size = len(line.encode("utf-8", "replace")) + 1
                self._lines.append((line, size))
                self._bytes += size
                while self._lines and (len(self._lines) > self.max_lines or self._bytes - 1 > self.max_bytes):
                    self._bytes -= self._lines.popleft()[1]

    def text(self) -> str:
        with self._lock:
            return "\n".join(line for line, _ in self._lines)


class _Formatter(logging.Formatter):
    """The message with its exception and stack; leaves ``record.exc_text`` as it found it, so the job's
    own formatters still format the exception their way."""

    converter = time.gmtime

    def format(self, record: logging.LogRecord) -> str:
        cached = record.exc_text
        try:
            return super().format(record)
        finally:
            record.exc_text = cached

    def head(self, record: logging.LogRecord) -> str:
        """``2026-12-01T02:00:07.123Z WARNING billing: ``: UTC, whatever the job's own format."""
        when = self.formatTime(record, "%Y-%m-%dT%H:%M:%S")
        return f"{when}.{int(record.msecs):03d}Z {record.levelname} {record.name}: "


_formatter = _Formatter("%(message)s")
_current: contextvars.ContextVar[Tail | None] = contextvars.ContextVar("otelmon-log-tail", default=None)
_active: list[Tail] = []
_lock = threading.Lock()
_installed: Any = None  # our record factory while installed


def _tail_for_record() -> Tail | None:
    tail = _current.get()
    if tail is not None:
        return tail if tail.open else None  # a context left over from an ended try (e.g. a hung thread)
    with _lock:
        return _active[0] if len(_active) == 1 else None


def _bounded(text: str, limit: int) -> str:
    """At most ``limit`` characters of a record, never starting inside a line (a half line could begin with
    half a secret that masking no longer recognises): its last whole lines (a traceback ends with the error),
    or, for one huge line, its start (all the tail would keep of it; the cut lies past what it keeps)."""
    if len(text) <= limit:
        return text
    end = text[-limit:]
    newline = end.find("\n")
    return end[newline + 1:] if newline >= 0 else text[:limit]


def _keep(record: logging.LogRecord) -> None:
    try:
        # Once, even when another library's factory wraps ours (or ours was installed twice under it).
        if getattr(record, "_otelmon_kept", False):
            return
        record._otelmon_kept = True
        tail = _tail_for_record()
        if tail is not None:
            limit = max(_RECORD_CHARS, 4 * tail.max_bytes)
            # Only the message is masked: a logger named "auth.tokens" is no "tokens: value" pair.
            message = _airflow_redact(_bounded(_formatter.format(record), limit))
            tail.add(_formatter.head(record) + scrub(message))
    except Exception:  # noqa: S110 - never break the job's logging; logging it here would recurse
        pass


def _airflow_redact(text: str) -> str:
    """Airflow's own masking of the secrets it knows by value (connection passwords, sensitive Variables,
    ``mask_secret()``): its log handlers apply it after a record is made, which is after we copy the record,
    so it is applied here too. Used only when the task runtime has loaded it: plain jobs never import
    Airflow."""
    masker = sys.modules.get("airflow.sdk._shared.secrets_masker")
    redact = getattr(masker, "redact", None)
    if redact is None:
        return text
    redacted = redact(text)
    return redacted if isinstance(redacted, str) else text


def _wrap(factory: Any) -> Any:
    """A log record factory that makes records with ``factory`` and keeps each in the try's tail.

    Records are taken where ``logging`` makes them (after the logger's level check), not by a handler on the
    root logger: such a handler would turn ``logging.basicConfig()`` called inside a traced function into a
    silent no-op (it configures only a root logger without handlers) and stop Python's last-resort printing
    of warnings for a job that configured no logging. The job's logging behaves exactly as without us.
    """

    def make_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        _keep(record)
        return record

    make_record.otelmon_wrapped = factory  # type: ignore[attr-defined]
    return make_record


def _install() -> None:
    global _installed
    if _installed is None or logging.getLogRecordFactory() is not _installed:
        _installed = _wrap(logging.getLogRecordFactory())
        logging.setLogRecordFactory(_installed)


def _uninstall() -> None:
    global _installed
    # Replaced since by someone else's factory (which may wrap ours): leave it; ours then keeps nothing.
    if _installed is not None and logging.getLogRecordFactory() is _installed:
        logging.setLogRecordFactory(_installed.otelmon_wrapped)
        _installed = None


def capturing() -> bool:
    """Whether records are being taken at all (some try is running)."""
    return _installed is not None and logging.getLogRecordFactory() is _installed


class Capture:
    """One try's capture: started by ``start()``, ended by ``stop()`` (in the context that started it)."""

    def __init__(self, tail: Tail) -> None:
        self.tail = tail
        self._token: contextvars.Token | None = None

    def text(self) -> str:
        return self.tail.text()


def start() -> Capture | None:
    """Begin capturing the current context's log records; None when turned off (a bound of 0) or when
    capturing cannot start (logged: the try runs without its lines, never not at all)."""
    try:
        return _start()
    except Exception:  # noqa: BLE001 - the job's code must run whatever happens here
        log.exception("OtelMon could not keep this try's log lines")
        return None


def _start() -> Capture | None:
    max_lines, max_bytes = limits()
    if max_lines <= 0 or max_bytes <= 0:
        return None
    capture = Capture(Tail(max_lines, max_bytes))
    capture._token = _current.set(capture.tail)
    with _lock:
        _active.append(capture.tail)
        if len(_active) == 1:
            _install()
    return capture


def stop(capture: Capture | None) -> None:
    """End ``capture``; nothing is taken any more once the last running try ended."""
    if capture is None:
        return
    capture.tail.open = False
    with _lock:
        if capture.tail in _active:
            _active.remove(capture.tail)
        if not _active:
            _uninstall()
    if _current.get() is capture.tail and capture._token is not None:
        try:
            _current.reset(capture._token)
        except ValueError:  # set in another context (an Airflow callback run elsewhere): just forget it
            _current.set(None)


def attach(span: Span, capture: Capture | None) -> None:
    """Put the captured lines on ``span`` (the failing try's), newest kept within the byte bound."""
    if capture is None:
        return
    text = capture.text()
    if text:
        span.set_attribute(k.LOG_TAIL, newest_lines(text, capture.tail.max_bytes))
