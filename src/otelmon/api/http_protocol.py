"""uvicorn's h11 protocol with a deadline on a request's headers.

uvicorn times out idle keep-alive connections only: a client that sends half a header block, or a byte
every few seconds, holds its connection (and a place under ``--limit-concurrency``) for as long as it
likes, so a few hundred of them make every other request a 503. Here the headers of each request must
arrive within ``HEADER_TIMEOUT_SECONDS`` of its first byte (of the connection, for the first request),
or the connection is closed. Header size and count are bounded by h11's incomplete-event limit.
"""

from __future__ import annotations

import asyncio

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

HEADER_TIMEOUT_SECONDS = 10.0


class H11WithHeaderDeadline(H11Protocol):
    _header_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.transport.is_closing() or not self._between_requests():
            self._disarm()
        else:
            self._arm()  # a deadline already running keeps its time: trickling bytes does not extend it

    def _between_requests(self) -> bool:
        return self.cycle is None or self.cycle.response_complete

    def _arm(self) -> None:
        if self._header_deadline is None:
            self._header_deadline = self.loop.call_later(HEADER_TIMEOUT_SECONDS, self._headers_too_slow)

    def _disarm(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _headers_too_slow(self) -> None:
        self._header_deadline = None
        if not self._between_requests() or self.transport.is_closing():
            return
        try:
            self.conn.send(h11.ConnectionClosed())
        except h11.LocalProtocolError:
            pass
        self.transport.close()
