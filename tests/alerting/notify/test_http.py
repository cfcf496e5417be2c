"""One HTTP call to a vendor (notify/http.py): the answer is read decoded and bounded; outcomes by status."""

from __future__ import annotations

import asyncio
import gzip
import json

from otelmon.alerting.notify.base import PermanentFailure, RetryLater
from otelmon.alerting.notify.http import Answer, classify_error, new_client, post, retry_after_seconds
from tests.harness.vendor_server import Reply, VendorServer


def call(server: VendorServer) -> Answer:
    async def run() -> Answer:
        async with new_client() as http:
            return await post(http, server.url + "/hook", json_body={"a": 1})
    return asyncio.run(run())


def test_a_gzipped_answer_is_read_decoded():
    body = gzip.compress(json.dumps({"ok": True, "ts": "1.2"}).encode())
    with VendorServer(lambda r: Reply(200, body, {"content-encoding": "gzip",
                                                  "content-type": "application/json"})) as server:
        answer = call(server)
    assert isinstance(answer, Answer) and answer.json() == {"ok": True, "ts": "1.2"}


def test_statuses_map_to_outcomes_and_retry_after_is_honoured():
    def answer(status: int, **headers: str) -> Answer:
        import httpx
        return Answer(status, httpx.Headers(headers), b"nope")

    assert classify_error(answer(204), "h") is None
    assert classify_error(answer(429, **{"retry-after": "7"}), "h") == RetryLater("HTTP 429 from h: nope", 7.0)
    assert isinstance(classify_error(answer(503), "h"), RetryLater)
    assert classify_error(answer(404), "h") == PermanentFailure("HTTP 404 from h: nope")
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0 and retry_after_seconds("x") is None
