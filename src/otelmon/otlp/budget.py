"""Byte budgets that bound the API's memory by what it holds, not by how many clients send their largest
legal body at the same moment (measured in benchmarks/hostile_inputs.py):

- bodies held in memory: a request reserves its Content-Length (the limit when it has none) before its body
  is read; past the budget it is answered 503 + Retry-After at once, without queueing on the event loop;
- bodies being parsed: parsing is where a body costs memory (a protobuf ``ExportTraceServiceRequest`` takes
  about six times its encoded size while alive, OTLP JSON about twice that), so parses wait for their share
  in the worker thread that runs them, and give it back as soon as the spans are extracted.

A share is capped at the whole budget, so the largest legal body always gets through on its own.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from otelmon.otlp.errors import OtlpError


class BudgetExhausted(OtlpError):
    """Too many large bodies at once: the client retries later (503 + Retry-After)."""

    status_code = 503


class ByteBudget:
    def __init__(self, capacity: int, what: str, *, trim_after: bool = False) -> None:
        """``trim_after``: give freed memory back to the system after a large share (see below); only for a
        budget held in worker threads, since trimming a large heap can take milliseconds."""
        self.capacity = capacity
        self.what = what
        self.trim_after = trim_after
        self._free = capacity
        self._changed = threading.Condition()

    @contextmanager
    def hold(self, cost: int, timeout: float) -> Iterator[None]:
        """Hold ``cost`` bytes of the budget (at most all of it) while the block runs; wait up to ``timeout``
        seconds for them (0: do not wait, as on the event loop), then raise ``BudgetExhausted``."""
        share = max(1, min(cost, self.capacity))
        with self._changed:
            if not self._changed.wait_for(lambda: self._free >= share, timeout):
                raise BudgetExhausted(
                    f"too many large batches at once; retry later ({self.what}: this one needs {share} bytes "
                    f"of {self.capacity})"
                )
            self._free -= share
        try:
            yield
        finally:
            if self.trim_after and share >= _TRIM_FROM_BYTES:
                _return_freed_memory()
            with self._changed:
                self._free += share
                self._changed.notify_all()


# After a large parse, freed memory stays in the worker thread's malloc arena, where the next large parse
# (in another thread) cannot reuse it: measured, three 32 MiB bodies parsed one after the other peaked at
# 656 MiB without trimming. glibc's malloc_trim gives it back; no library exposes it, hence ctypes.
_TRIM_FROM_BYTES = 4 * 1024 * 1024


def _load_malloc_trim():
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to trim this way
        return None


_MALLOC_TRIM = _load_malloc_trim()


def _return_freed_memory() -> None:
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)
