"""How many request bodies are parsed at once, counted in bytes: the API's peak memory is bounded by the
budget, not by how many clients send their largest legal body at the same moment.

Parsing is where a body costs memory: a protobuf ``ExportTraceServiceRequest`` takes about seven times its
encoded size while it is alive, OTLP JSON several times more. Requests wait for their share (in the worker
thread that will parse them, never on the event loop) and give it back as soon as the spans are extracted.
A share is capped at the whole budget, so the largest legal body always gets through on its own.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from otelmon.otlp.errors import OtlpError


class ParseBudgetExhausted(OtlpError):
    """Too many large bodies are being parsed: the client retries later (503 + Retry-After)."""

    status_code = 503


class ParseBudget:
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._free = capacity
        self._changed = threading.Condition()

    @contextmanager
    def hold(self, cost: int, timeout: float) -> Iterator[None]:
        """Hold ``cost`` bytes of the budget (at most all of it) while the block runs; wait up to ``timeout``
        seconds for them, then raise ``ParseBudgetExhausted``."""
        share = max(1, min(cost, self.capacity))
        with self._changed:
            if not self._changed.wait_for(lambda: self._free >= share, timeout):
                raise ParseBudgetExhausted(
                    f"the server is parsing other large batches; retry later (this one needs {share} bytes "
                    f"of a {self.capacity}-byte parse budget)"
                )
            self._free -= share
        try:
            yield
        finally:
            with self._changed:
                self._free += share
                self._changed.notify_all()
