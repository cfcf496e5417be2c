"""OtelMon's NiFi runner: runs a user's CPython transform on one FlowFile inside an OpenTelemetry span.

Two ways in, one implementation:
- as a program, started once per FlowFile by ExecutePython.py (NiFi 1.x ExecuteScript, Jython): one
  request framed on stdin, one response framed on stdout (see read_request / write_response);
- as a module, from the NiFi 2.x Python processor OtelMonTransform: process_flowfile().

Frame: one line of ASCII JSON (the header), then exactly header["content_length"] raw bytes.
Request header:  {"v": 1, "script", "timeout", "processor", "group", "attributes", "content_length",
                  "max_content_bytes", "will_retry" (optional: the flow retries this FlowFile if it fails)}
Response header: {"v": 1, "ok", "attributes", "content_length" (null: content unchanged), "error"}

The user's script defines transform(content: bytes, attributes: dict) and returns None (FlowFile
unchanged), new content (bytes or str) or {"content": ..., "attributes": {...}}; raising fails the FlowFile.
"""

from __future__ import annotations

import contextvars
import importlib.util
import json
import os
import sys
import threading
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from otelmon.failures import attributes as k
from otelmon.instrument import log_tail
from otelmon.instrument.provider import flush, get_tracer
from otelmon.instrument.spans import Identity, mark_failed

PROTOCOL_VERSION = 1
MAX_HEADER_BYTES = 4 * 1024 * 1024
DEFAULT_MAX_CONTENT_BYTES = 64 * 1024 * 1024
MAX_ERROR_MESSAGE_CHARS = 1024
# A timed-out transform cannot be killed inside a long-lived process (NiFi 2); past this many still
# running, new FlowFiles fail at once instead of piling up threads.
MAX_HUNG_TRANSFORMS = 4

ATTR_FLOWFILE_UUID = "nifi.flowfile.uuid"
ATTR_FLOWFILE_SIZE = "nifi.flowfile.size"
PLATFORM = "nifi"  # otelmon.platform, and the service name when OTEL_SERVICE_NAME gives none
# Written onto a failed FlowFile so a flow can branch on, or show, what went wrong.
FF_ERROR_TYPE = "otelmon.error.type"
FF_ERROR_MESSAGE = "otelmon.error.message"
# NiFi owns these; a transform may not overwrite them.
READ_ONLY_ATTRIBUTES = frozenset({"uuid"})

_propagator = TraceContextTextMapPropagator()


class ProtocolError(Exception):
    """The request frame on stdin is malformed."""


@dataclass
class FlowFileResult:
    ok: bool
    content: bytes | None  # None: keep the FlowFile's content
    attributes: dict[str, str] = field(default_factory=dict)  # to add or overwrite
    error_type: str | None = None
    error_message: str | None = None


# --- the user's script ----------------------------------------------------------------------------

_script_cache: dict[str, tuple[int, Callable[..., Any]]] = {}
_script_cache_lock = threading.Lock()


def load_transform(script_path: str) -> Callable[..., Any]:
    """The script's transform function, reloaded when the file changes."""
    mtime = os.stat(script_path).st_mtime_ns
    with _script_cache_lock:
        cached = _script_cache.get(script_path)
        if cached is not None and cached[0] == mtime:
            return cached[1]
    # Named after the file, so the script's own exception types read well in exception.type.
    module_name = os.path.splitext(os.path.basename(script_path))[0]
    spec = importlib.util.spec_from_file_location(module_name, script_path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load a Python module from {script_path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    transform = getattr(module, "transform", None)
    if not callable(transform):
        raise AttributeError(f"{script_path} defines no transform(content, attributes) function")
    with _script_cache_lock:
        _script_cache[script_path] = (mtime, transform)
    return transform


def normalise_result(value: Any) -> tuple[bytes | None, dict[str, str]]:
    """Turn what transform() returned into (new content or None, attributes to set)."""
    if value is None:
        return None, {}
    if isinstance(value, (bytes, bytearray, str)):
        return _as_bytes(value), {}
    if isinstance(value, dict):
        unknown = set(value) - {"content", "attributes"}
        if unknown:
            raise TypeError(f"transform() returned unknown keys {sorted(unknown)}")
        content = value.get("content")
        attributes = value.get("attributes") or {}
        if not isinstance(attributes, dict):
            raise TypeError("transform()'s 'attributes' must be a dict")
        return (None if content is None else _as_bytes(content)), {
            str(key): str(val) for key, val in attributes.items() if str(key) not in READ_ONLY_ATTRIBUTES
        }
    raise TypeError(f"transform() must return None, bytes, str or a dict, not {type(value).__name__}")


def _as_bytes(content: Any) -> bytes:
    if isinstance(content, str):
        return content.encode("utf-8")
    if isinstance(content, (bytes, bytearray)):
        return bytes(content)
    raise TypeError(f"content must be bytes or str, not {type(content).__name__}")


_hung: set[threading.Thread] = set()
_hung_lock = threading.Lock()


def call_with_timeout(fn: Callable[[], Any], timeout_s: float) -> Any:
    """Run fn in a worker thread; TimeoutError (carrying the worker's stack) if it overruns."""
    with _hung_lock:
        _hung.difference_update([t for t in _hung if not t.is_alive()])
        if len(_hung) >= MAX_HUNG_TRANSFORMS:
            raise RuntimeError(f"{len(_hung)} earlier transforms are still running past their timeout; refusing more")
    outcome: dict[str, Any] = {}
    # The caller's context goes with the work: its span and its log capture (log_tail) are the FlowFile's.
    context = contextvars.copy_context()

    def work() -> None:
        try:
            outcome["value"] = context.run(fn)
        except BaseException as exc:  # handed to the caller's thread, which records it
            outcome["error"] = exc

    worker = threading.Thread(target=work, name="otelmon-transform", daemon=True)
    worker.start()
    worker.join(timeout_s)
    if worker.is_alive():
        with _hung_lock:
            _hung.add(worker)
        timeout = TimeoutError(f"transform did not return within {timeout_s:g} s")
        # The worker's current stack as the error's traceback: the span then shows where the script hung.
        raise timeout.with_traceback(_traceback_of(sys._current_frames().get(worker.ident)))
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def _traceback_of(frame: types.FrameType | None) -> types.TracebackType | None:
    tb = None
    while frame is not None:
        tb = types.TracebackType(tb, frame, frame.f_lasti, frame.f_lineno)
        frame = frame.f_back
    return tb


# --- one FlowFile ---------------------------------------------------------------------------------


def process_flowfile(
    script_path: str,
    content: bytes,
    attributes: dict[str, str],
    *,
    processor: str,
    group: str | None,
    timeout_s: float,
    max_content_bytes: int = DEFAULT_MAX_CONTENT_BYTES,
    will_retry: bool = False,
) -> FlowFileResult:
    """Run the transform on one FlowFile inside a span continuing the FlowFile's traceparent.

    ``will_retry``: the flow tries this FlowFile again if it fails; the failure's span says so
    (``otelmon.will_retry``), so OtelMon records a failed_will_retry run and alerting may hold it."""
    span_attributes = Identity(PLATFORM, group or "", processor).attributes()
    if not group:
        del span_attributes[k.GROUP]  # unknown: leave the group to OtelMon's fallbacks
    span_attributes[ATTR_FLOWFILE_SIZE] = len(content)
    if attributes.get("uuid"):
        span_attributes[ATTR_FLOWFILE_UUID] = attributes["uuid"]
    tracer = get_tracer(PLATFORM)
    parent = _propagator.extract(carrier=attributes)
    # Failures are recorded below (mark_failed) and turned into a result, not re-raised.
    with tracer.start_as_current_span(
        processor, context=parent, attributes=span_attributes, record_exception=False, set_status_on_exception=False
    ) as span:
        carrier: dict[str, str] = {}
        _propagator.inject(carrier)  # the new traceparent: this span, for whatever handles the FlowFile next
        capture = log_tail.start()
        try:
            user_attributes = dict(attributes)  # the script gets a copy it may scribble on
            raw = call_with_timeout(lambda: load_transform(script_path)(content, user_attributes), timeout_s)
            new_content, new_attributes = normalise_result(raw)
            if new_content is not None and len(new_content) > max_content_bytes:
                raise ValueError(
                    f"transform returned {len(new_content)} bytes, over the {max_content_bytes} byte limit"
                )
        except (Exception, SystemExit) as exc:  # sys.exit() in a script is a failure, not our exit
            if will_retry:
                span.set_attribute(k.WILL_RETRY, True)
            mark_failed(span, exc)
            log_tail.attach(span, capture)
            message = str(exc)[:MAX_ERROR_MESSAGE_CHARS]
            carrier.update({FF_ERROR_TYPE: type(exc).__name__, FF_ERROR_MESSAGE: message})
            return FlowFileResult(False, None, carrier, type(exc).__name__, message)
        finally:
            log_tail.stop(capture)
        new_attributes.update(carrier)
        return FlowFileResult(True, new_content, new_attributes)


# --- the stdin/stdout program used by ExecutePython.py -------------------------------------------


def read_request(stream) -> tuple[dict[str, Any], bytes]:
    line = stream.readline(MAX_HEADER_BYTES + 1)
    if not line.endswith(b"\n"):
        raise ProtocolError("request header missing, truncated or over the size limit")
    try:
        header = json.loads(line)
    except ValueError as exc:
        raise ProtocolError(f"request header is not JSON: {exc}") from exc
    if not isinstance(header, dict) or header.get("v") != PROTOCOL_VERSION:
        raise ProtocolError(f"unsupported request (want protocol version {PROTOCOL_VERSION})")
    length = int(header.get("content_length") or 0)
    content = stream.read(length) if length else b""
    if len(content) != length:
        raise ProtocolError(f"request announced {length} content bytes, got {len(content)}")
    return header, content


def write_response(stream, result: FlowFileResult) -> None:
    header = {
        "v": PROTOCOL_VERSION,
        "ok": result.ok,
        "attributes": result.attributes,
        "content_length": None if result.content is None else len(result.content),
        "error": None if result.ok else {"type": result.error_type, "message": result.error_message},
    }
    stream.write(json.dumps(header).encode("ascii") + b"\n")
    if result.content is not None:
        stream.write(result.content)
    stream.flush()


def _claim_stdout():
    """Keep fd 1 for the response; the user's prints (and children's) go to stderr instead."""
    response = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return response


def main() -> int:
    response = _claim_stdout()
    try:
        header, content = read_request(sys.stdin.buffer)
    except ProtocolError as exc:
        write_response(response, FlowFileResult(False, None, {}, "ProtocolError", str(exc)))
        return 2
    result = process_flowfile(
        header["script"],
        content,
        {str(key): str(value) for key, value in (header.get("attributes") or {}).items()},
        processor=header.get("processor") or "ExecuteScript",
        group=header.get("group"),
        timeout_s=float(header.get("timeout") or 30),
        max_content_bytes=int(header.get("max_content_bytes") or DEFAULT_MAX_CONTENT_BYTES),
        will_retry=header.get("will_retry") is True,
    )
    flush()  # bounded (OTELMON_FLUSH_TIMEOUT_SECONDS): a down collector costs seconds, not the FlowFile
    write_response(response, result)
    return 0


if __name__ == "__main__":
    code = main()
    sys.stderr.flush()
    # A timed-out transform thread may still be running; exiting hard is the point of the timeout.
    os._exit(code)
