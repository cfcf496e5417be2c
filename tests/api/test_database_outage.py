"""The database stops mid-run: 503 + Retry-After while it is down, then every failure present once."""

import gzip

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from sqlalchemy import create_engine, text

from tests.api.declared import declared_client
from tests.harness.mariadb import MariaDBServer
from tests.harness.spans import SpanFactory, protobuf_body

HEADERS = {"content-type": "application/x-protobuf", "content-encoding": "gzip"}


@pytest.fixture
def own_mariadb(tmp_path):
    server = MariaDBServer(tmp_path / "db").start()
    yield server
    server.remove()


def batch(n: int) -> bytes:
    spans = SpanFactory()
    for i in range(20):
        spans.ok(f"ok-{n}-{i}")
    spans.failing(f"step-{n}", {"otelmon.platform": "airflow", "otelmon.group": "dag", "otelmon.process": f"t{n}",
                                "otelmon.run_id": "run-1", "otelmon.try_number": 1})
    return gzip.compress(protobuf_body(spans.take()))


@pytest.mark.parametrize("how", ["stop", "kill"])
def test_503_while_down_then_everything_once(how, own_mariadb, start_api):
    url = own_mariadb.create_database("otelmon")
    api = start_api({"OTELMON_DATABASE_URL": url, "OTELMON_RETRY_AFTER_SECONDS": "7",
                     "OTELMON_DB_CONNECT_TIMEOUT_SECONDS": "1"})
    bodies = [batch(n) for n in range(6)]
    post = lambda body: httpx.post(f"{api.url}/v1/traces", content=body, headers=HEADERS, timeout=30)  # noqa: E731

    for body in bodies[:2]:
        assert post(body).status_code == 200

    getattr(own_mariadb, how)()
    refused = []
    for body in bodies[2:]:
        response = post(body)
        assert response.status_code == 503, response.text
        assert response.headers["retry-after"] == "7"
        refused.append(body)
    assert httpx.get(f"{api.url}/readyz").status_code == 503
    assert httpx.get(f"{api.url}/healthz").status_code == 200
    # Reads make the same promise as writes: 503 + Retry-After, declared in OpenAPI.
    with declared_client(api.url) as client:
        for path in ["/api/v1/failures", "/api/v1/failures/1", "/api/v1/alerts", "/api/v1/silences",
                     "/api/v1/issues", "/readyz"]:
            response = client.get(path)
            assert response.status_code == 503, f"{path}: {response.text}"
            if path != "/readyz":
                assert response.headers["retry-after"] == "7", path
        report = {"platform": "cron", "group": "g", "process": "p", "run_id": "r"}
        assert client.post("/api/v1/process-failure", json=report).status_code == 503

    own_mariadb.start()
    assert httpx.get(f"{api.url}/readyz").status_code == 200
    # The collector redelivers what was refused, and may redeliver what was accepted too.
    for body in refused + bodies[:2]:
        response = post(body)
        assert response.status_code == 200
        assert ExportTraceServiceResponse.FromString(response.content).partial_success.rejected_spans == 0

    engine = create_engine(url)
    with engine.connect() as conn:
        processes = sorted(r[0] for r in conn.execute(text("SELECT process_name FROM failures")))
    engine.dispose()
    assert processes == [f"t{n}" for n in range(6)]
