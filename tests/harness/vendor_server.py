"""A loopback HTTP server for vendor stand-ins (Slack, Teams, Telegram, ...): it records every request and
answers through a handler the stand-in supplies, so each stand-in states its vendor's documented contract
(paths, auth headers, error bodies) in a few lines.

Served by uvicorn in a thread of the test process, on 127.0.0.1 and a free port.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.requests import Request
from starlette.responses import Response

from tests.harness.ports import free_port


@dataclass
class Recorded:
    method: str
    path: str
    query: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    arrived: float  # time.monotonic()

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Reply:
    status: int = 200
    body: bytes | str | dict | list | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering (a slow vendor)

    def response(self) -> Response:
        body = self.body
        headers = dict(self.headers)
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
            headers.setdefault("content-type", "application/json")
        return Response(content=body or b"", status_code=self.status, headers=headers)


Handler = Callable[[Recorded], Reply | Awaitable[Reply]]


class VendorServer:
    """``handler`` turns a recorded request into a reply; ``script`` queues replies that take precedence
    (one per request, in order), for faults: a 429 then a 200, a 404 for good."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.port = free_port()
        self.requests: list[Recorded] = []
        self._script: list[Reply] = []
        self._always: Reply | None = None
        self._changed = threading.Condition()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def script(self, *replies: Reply) -> None:
        """Answer the next requests with these, then go back to the handler."""
        with self._changed:
            self._script.extend(replies)

    def always(self, reply: Reply | None) -> None:
        """Answer every request with ``reply`` (a vendor that is down) until called with None."""
        self._always = reply

    async def _app(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        body = await request.body()
        recorded = Recorded(request.method, request.url.path, request.url.query,
                            {k.lower(): v for k, v in request.headers.items()}, body, time.monotonic())
        with self._changed:
            self.requests.append(recorded)
            reply = self._script.pop(0) if self._script else self._always
            self._changed.notify_all()
        if reply is None:
            reply = self.handler(recorded)
            if asyncio.iscoroutine(reply):
                reply = await reply
        if reply.delay:
            await asyncio.sleep(reply.delay)
        await reply.response()(scope, receive, send)

    def wait_for(self, count: int, timeout: float = 20.0) -> list[Recorded]:
        """Block until ``count`` requests have arrived (fails the test after ``timeout``)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.requests) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{len(self.requests)} requests arrived, expected {count}")
                self._changed.wait(left)
            return list(self.requests)

    def start(self) -> VendorServer:
        config = uvicorn.Config(self._app, host="127.0.0.1", port=self.port, log_level="warning", interface="asgi3",
                                lifespan="off", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name=f"vendor-{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("vendor stand-in did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> VendorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class Answered:
    """What a stand-in's own handler answered, request by request, and when (``time.monotonic()``); replies set
    by ``always``/``script`` do not pass through it. ``gate``: the handler waits until it is set, so a request
    hangs until the test says; the first ``free`` requests pass without waiting."""

    def __init__(self, server: VendorServer, free: int = 0) -> None:
        self.replies: list[tuple[Recorded, Reply, float]] = []
        self.gate = threading.Event()
        self.gate.set()
        self._free = free
        self._arrived = 0
        inner = server.handler

        async def handle(request: Recorded) -> Reply:
            self._arrived += 1  # the server's event loop: no other handler runs meanwhile
            if self._arrived > self._free:
                await asyncio.to_thread(self.gate.wait, 60)
            reply = inner(request)
            self.replies.append((request, reply, time.monotonic()))
            return reply

        server.handler = handle

    @property
    def accepted(self) -> list[Recorded]:
        return [request for request, reply, _ in self.replies if 200 <= reply.status < 300]
