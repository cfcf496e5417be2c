"""The NiFi 2 processor OtelMonTransform, hosted with NiFi's real nifiapi (tests/nifi/nifi2_host.py)."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import textwrap

from tests.nifi.conftest import PYTHON, REPO, SCRIPTS, exception_event

HOST = REPO / "tests" / "nifi" / "nifi2_host.py"
PROCESSOR = REPO / "nifi" / "python_extensions" / "OtelMonTransform" / "OtelMonTransform.py"
HOST_TIMEOUT = 60


def host(nifiapi_jar, endpoint: str, properties: dict[str, str], flowfiles: list[tuple[bytes, dict]]) -> list[dict]:
    job = {
        "nifiapi_jar": str(nifiapi_jar),
        "processor_file": str(PROCESSOR),
        "runner_dir": str(SCRIPTS),
        "name": "Clean orders",
        "properties": properties,
        "flowfiles": [{"content_b64": base64.b64encode(c).decode(), "attributes": a} for c, a in flowfiles],
    }
    # Spans leave only through the processor's own flush in onStopped (the batch delay is far longer).
    env = {**os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_BSP_SCHEDULE_DELAY": "60000"}
    done = subprocess.run(
        [PYTHON, str(HOST)], input=json.dumps(job), capture_output=True, text=True, env=env, timeout=HOST_TIMEOUT
    )
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)
    for result in results:
        encoded = result.pop("content_b64")
        result["content"] = None if encoded is None else base64.b64decode(encoded)
    return results


def test_success_failure_and_timeout_route_and_export_spans(nifi_artifacts, otlp_sink, tmp_path):
    script = tmp_path / "orders.py"
    script.write_text(
        textwrap.dedent(
            """
            import time

            def transform(content, attributes):
                if attributes.get("mode") == "hang":
                    time.sleep(120)
                if attributes.get("mode") == "fail":
                    raise KeyError("customer_id")
                return {"content": content.upper(), "attributes": {"checked": "yes"}}
            """
        )
    )
    parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    ok, failed, hung = host(
        nifi_artifacts,
        otlp_sink.url,
        {"Script File": str(script), "Timeout Seconds": "1", "Process Group Name": "${pg}"},
        [
            (b"abc", {"uuid": "n2-ok", "pg": "ingest", "traceparent": parent}),
            (b"abc", {"uuid": "n2-fail", "pg": "ingest", "mode": "fail"}),
            (b"abc", {"uuid": "n2-hang", "pg": "ingest", "mode": "hang"}),
        ],
    )

    assert ok["relationship"] == "success"
    assert ok["content"] == b"ABC"
    assert ok["attributes"]["checked"] == "yes"
    span, whole = otlp_sink.received.for_flowfile("n2-ok")
    assert (span.name, span.attributes["otelmon.group"], span.attributes["otelmon.process"]) == (
        "Clean orders",
        "ingest",
        "Clean orders",
    )
    assert span.attributes["otelmon.platform"] == "nifi"
    assert whole.parent_span_id.hex() == "00f067aa0ba902b7"
    assert ok["attributes"]["traceparent"] == f"00-{span.trace_id}-{span.span_id}-01"

    assert failed["relationship"] == "failure"
    assert failed["content"] is None
    assert failed["attributes"]["otelmon.error.type"] == "KeyError"
    span, whole = otlp_sink.received.for_flowfile("n2-fail")
    assert span.is_error
    assert exception_event(whole)["exception.type"] == "KeyError"

    assert hung["relationship"] == "failure"
    assert hung["attributes"]["otelmon.error.type"] == "TimeoutError"
    span, whole = otlp_sink.received.for_flowfile("n2-hang")
    assert span.is_error
    assert "time.sleep(120)" in exception_event(whole)["exception.stacktrace"]


def test_content_over_the_limit_is_refused_before_reading(nifi_artifacts, otlp_sink):
    (result,) = host(
        nifi_artifacts,
        otlp_sink.url,
        {"Script File": str(SCRIPTS / "example_transform.py"), "Max Content Bytes": "4"},
        [(b"a,b\n1,2\n", {"uuid": "n2-big"})],
    )

    assert result["relationship"] == "failure"
    assert result["attributes"]["otelmon.error.type"] == "ContentTooLarge"
