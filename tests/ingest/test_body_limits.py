"""OTLP JSON has its own, lower size cap (parsing it takes about 8x its size in memory)."""

from __future__ import annotations

import gzip
import json

import pytest
from fastapi.testclient import TestClient

from otelmon.api.app import create_app
from otelmon.config import Settings
from tests.ingest.otlp_bodies import error_span, otlp_json, protobuf, request_of

JSON_LIMIT = 64 * 1024


@pytest.fixture
def small_json_limit(tmp_path):
    settings = Settings(database_url=f"sqlite:///{tmp_path}/o.db", alerts_enabled=False, ingest_token=None,
                        max_json_body_bytes=JSON_LIMIT)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


def big_request():
    return request_of(*(error_span({"otelmon.run_id": f"r{n}", "pad": "x" * 200}) for n in range(400)))


def test_json_over_its_cap_is_a_413_on_the_wire_and_once_inflated(small_json_limit):
    document = json.dumps(otlp_json(big_request())).encode()
    assert len(document) > JSON_LIMIT
    plain = small_json_limit.post("/v1/traces", content=document, headers={"content-type": "application/json"})
    packed = small_json_limit.post("/v1/traces", content=gzip.compress(document),
                                   headers={"content-type": "application/json", "content-encoding": "gzip"})
    assert len(gzip.compress(document)) < JSON_LIMIT
    assert (plain.status_code, packed.status_code) == (413, 413)
    assert "limit of 65536 bytes" in packed.json()["message"]


def test_protobuf_of_the_same_size_keeps_the_general_cap(small_json_limit):
    body = protobuf(big_request())
    assert len(body) > JSON_LIMIT
    answer = small_json_limit.post("/v1/traces", content=body, headers={"content-type": "application/x-protobuf"})
    assert answer.status_code == 200
