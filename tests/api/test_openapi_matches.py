"""/openapi.json matches the answers: a sample of requests to every operation, each answer's status declared
for its path and method; then schemathesis, with a bounded budget, over the whole document."""

import gzip
import subprocess
import sys

import pytest

from tests.api.declared import declared_client
from tests.harness.api_server import ApiServer
from tests.harness.spans import SpanFactory, protobuf_body

TOKEN = "openapi-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PROTOBUF = {"content-type": "application/x-protobuf"}


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    server = ApiServer({"OTELMON_DATABASE_URL": f"sqlite:///{tmp_path_factory.mktemp('openapi') / 'otelmon.db'}",
                        "OTELMON_INGEST_TOKEN": TOKEN, "OTELMON_ALERTS_ENABLED": "false",
                        "OTELMON_MAX_BODY_BYTES": str(64 * 1024)}).start()
    yield server
    server.stop()


def a_failing_batch() -> bytes:
    spans = SpanFactory()
    spans.failing("load", {"otelmon.platform": "airflow", "otelmon.group": "dag", "otelmon.process": "load",
                           "otelmon.run_id": "r1", "otelmon.try_number": 1})
    return protobuf_body(spans.take())


def test_every_sampled_answer_is_declared(api):
    report = {"platform": "cron", "group": "nightly", "process": "export", "run_id": "r1"}
    with declared_client(api.url) as anonymous, declared_client(api.url, headers=AUTH) as client:
        # The clients fail on any undeclared answer; sample() checks that each case gets the answer it aims at.
        def sample(response, status):
            assert response.status_code == status, response.text

        for path in ["/api/v1/failures", "/api/v1/failures/1", "/api/v1/alerts", "/api/v1/issues"]:
            sample(anonymous.get(path), 401)
        sample(anonymous.post("/v1/traces", content=a_failing_batch(), headers=PROTOBUF), 401)
        sample(anonymous.post("/api/v1/process-failure", json=report), 401)

        sample(client.post("/v1/traces", content=a_failing_batch(), headers=PROTOBUF), 200)
        sample(client.post("/v1/traces", json={"resourceSpans": []}), 200)
        sample(client.post("/v1/traces", content=b"\x0a\xff\xff\xff\xff\x0fjunk", headers=PROTOBUF), 400)
        sample(client.post("/v1/traces", content=b"[1]", headers={"content-type": "application/json"}), 400)
        sample(client.post("/v1/traces", content=b"{}", headers={"content-type": "text/plain"}), 415)
        sample(client.post("/v1/traces", content=gzip.compress(b"\0" * 200_000),
                           headers={**PROTOBUF, "content-encoding": "gzip"}), 413)

        sample(client.post("/api/v1/process-failure", json=report), 201)
        sample(client.post("/api/v1/process-failure", json=report), 200)
        sample(client.post("/api/v1/process-failure", json={**report, "platform": ""}), 422)
        sample(client.post("/api/v1/process-failure", json={**report, "error_message": "x" * 100_000}), 413)

        sample(client.get("/api/v1/failures"), 200)
        sample(client.get("/api/v1/failures", params={"cursor": "nope"}), 400)
        sample(client.get("/api/v1/failures", params={"limit": 0}), 422)
        sample(client.get("/api/v1/failures/1"), 200)
        sample(client.get("/api/v1/failures/999999"), 404)
        sample(client.get("/api/v1/failures/x"), 422)
        sample(client.get("/api/v1/alerts"), 200)
        sample(client.get("/api/v1/issues"), 200)
        sample(client.get("/api/v1/issues", params={"state": "open"}), 422)
        sample(client.get("/api/v1/issues", params={"cursor": "nope"}), 400)
        sample(client.get("/api/v1/alerts", params={"state": "bogus"}), 422)
        for path in ["/healthz", "/readyz", "/metrics"]:
            sample(client.get(path), 200)
    # 503 on each of these is checked in test_database_outage.py.


def test_schemathesis_finds_no_server_error_and_no_undeclared_answer(api, tmp_path):
    checks = ["not_a_server_error", "status_code_conformance", "content_type_conformance",
              "response_headers_conformance", "response_schema_conformance"]
    run = subprocess.run(
        [sys.executable, "-m", "schemathesis.cli", "run", f"{api.url}/openapi.json", "--checks", ",".join(checks),
         "--header", f"Authorization: Bearer {TOKEN}", "--max-examples", "25", "--workers", "1",
         "--request-timeout", "10", "--generation-deterministic", "--no-color",
         "--phases", "examples,coverage,fuzzing"],
        capture_output=True, text=True, timeout=240, cwd=tmp_path,  # it leaves a .schemathesis/ cache behind
    )
    report = "\n".join(line[:300] for line in (run.stdout + run.stderr).splitlines())
    assert run.returncode == 0, report[-8000:]
