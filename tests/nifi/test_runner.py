"""nifi/scripts/nifi.py as ExecutePython.py runs it: a real CPython process, spans to a loopback OTLP sink."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from opentelemetry.proto.trace.v1.trace_pb2 import Status

from tests.nifi.conftest import SCRIPTS, exception_event
from tests.nifi.runner_process import run_runner

EXAMPLE = SCRIPTS / "example_transform.py"
CSV = b"id,amount\n1,9.50\n2,3.20\n"


def user_script(tmp_path: Path, body: str, name: str = "user_transform.py") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    return path


def test_success_returns_content_and_attributes_and_exports_an_identified_span(otlp_sink):
    answer = run_runner(EXAMPLE, CSV, {"uuid": "ff-1", "filename": "orders.csv"}, endpoint=otlp_sink.url)

    assert answer.header["ok"] is True, answer.stderr
    assert answer.content == b"ID,AMOUNT\n1,9.50\n2,3.20\n"
    assert answer.attributes["csv.row.count"] == "2"
    span, whole = otlp_sink.received.for_flowfile("ff-1")
    assert span.name == "Clean orders"
    assert not span.is_error
    assert span.attributes["otelmon.platform"] == "nifi"
    assert span.attributes["otelmon.group"] == "ingest"
    assert span.attributes["otelmon.process"] == "Clean orders"
    assert span.attributes["nifi.flowfile.size"] == len(CSV)
    assert span.resource["service.name"] == "nifi"
    assert whole.parent_span_id == b""  # no traceparent came in: a new trace starts here
    assert answer.attributes["traceparent"].startswith(f"00-{span.trace_id}-{span.span_id}-")


def test_incoming_traceparent_is_continued_and_replaced(otlp_sink):
    trace_id, parent = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    answer = run_runner(
        EXAMPLE, b"a\n1\n", {"uuid": "ff-2", "traceparent": f"00-{trace_id}-{parent}-01"}, endpoint=otlp_sink.url
    )

    span, whole = otlp_sink.received.for_flowfile("ff-2")
    assert span.trace_id == trace_id
    assert whole.parent_span_id.hex() == parent
    assert answer.attributes["traceparent"] == f"00-{trace_id}-{span.span_id}-01"


def test_script_error_is_an_error_span_with_the_exception_and_a_failed_answer(otlp_sink):
    answer = run_runner(
        EXAMPLE, b"a\n1\n", {"uuid": "ff-3", "fail": "true", "filename": "bad.csv"}, endpoint=otlp_sink.url
    )

    assert answer.header["ok"] is False
    assert answer.header["error"] == {"type": "ValueError", "message": "asked to fail by FlowFile bad.csv"}
    assert answer.content is None
    assert answer.attributes["otelmon.error.type"] == "ValueError"
    assert answer.attributes["traceparent"].startswith("00-")
    span, whole = otlp_sink.received.for_flowfile("ff-3")
    assert span.is_error
    assert whole.status.message == "ValueError: asked to fail by FlowFile bad.csv"
    event = exception_event(whole)
    assert event["exception.type"] == "ValueError"
    assert event["exception.message"] == "asked to fail by FlowFile bad.csv"
    assert 'example_transform.py", line' in event["exception.stacktrace"]


def test_a_flowfile_the_flow_will_retry_marks_its_failure_so_and_only_its_failure(otlp_sink):
    failing = {"uuid": "ff-r1", "fail": "true", "filename": "bad.csv"}
    assert run_runner(EXAMPLE, b"a\n1\n", failing, endpoint=otlp_sink.url, will_retry=True).header["ok"] is False
    assert run_runner(EXAMPLE, b"a\n1\n", {"uuid": "ff-r2"}, endpoint=otlp_sink.url, will_retry=True).header["ok"]
    run_runner(EXAMPLE, b"a\n1\n", {**failing, "uuid": "ff-r3"}, endpoint=otlp_sink.url)

    retried, _ = otlp_sink.received.for_flowfile("ff-r1")
    assert retried.is_error and retried.attributes["otelmon.will_retry"] is True
    succeeded, _ = otlp_sink.received.for_flowfile("ff-r2")
    assert not succeeded.is_error and "otelmon.will_retry" not in succeeded.attributes
    last, _ = otlp_sink.received.for_flowfile("ff-r3")
    assert last.is_error and "otelmon.will_retry" not in last.attributes


def test_timeout_is_an_error_span_showing_where_the_script_hung(otlp_sink, tmp_path):
    script = user_script(
        tmp_path,
        """
        import time

        def transform(content, attributes):
            time.sleep(120)
        """,
    )
    answer = run_runner(script, b"x", {"uuid": "ff-4"}, endpoint=otlp_sink.url, timeout=1)

    assert answer.header["ok"] is False
    assert answer.header["error"]["type"] == "TimeoutError"
    assert answer.seconds < 1 + 4, answer.seconds  # the timeout, start-up and a flush to a live sink
    _, whole = otlp_sink.received.for_flowfile("ff-4")
    assert whole.status.code == Status.STATUS_CODE_ERROR
    event = exception_event(whole)
    assert event["exception.type"] == "TimeoutError"
    assert "time.sleep(120)" in event["exception.stacktrace"]


def test_collector_down_still_answers_within_the_flush_bound(tmp_path):
    dead = "http://127.0.0.1:9"  # discard port: connection refused
    answer = run_runner(EXAMPLE, CSV, {"uuid": "ff-5"}, endpoint=dead, env={"OTELMON_FLUSH_TIMEOUT_SECONDS": "1"})

    assert answer.header["ok"] is True
    assert answer.content.startswith(b"ID,AMOUNT")
    assert answer.seconds < 1 + 3, answer.seconds


def test_prints_of_the_script_do_not_corrupt_the_answer(otlp_sink, tmp_path):
    script = user_script(
        tmp_path,
        """
        import os, sys

        def transform(content, attributes):
            print("chatty script")
            os.write(1, b"raw write to fd 1\\n")
            sys.stdout.flush()
            return content[::-1]
        """,
    )
    answer = run_runner(script, b"abc", {"uuid": "ff-6"}, endpoint=otlp_sink.url)

    assert answer.header["ok"] is True
    assert answer.content == b"cba"
    assert "chatty script" in answer.stderr and "raw write to fd 1" in answer.stderr


@pytest.mark.parametrize(
    ("body", "error_type"),
    [
        ("def transform(content, attributes):\n    return 42\n", "TypeError"),
        ("def transform(content, attributes):\n    return {'contents': b''}\n", "TypeError"),
        ("def transform(content, attributes):\n    import sys; sys.exit(3)\n", "SystemExit"),
        ("x = 1\n", "AttributeError"),
        ("def transform(content, attributes:\n", "SyntaxError"),
    ],
)
def test_broken_scripts_fail_the_flowfile(otlp_sink, tmp_path, body, error_type):
    uuid = f"ff-broken-{error_type}"
    answer = run_runner(user_script(tmp_path, body), b"x", {"uuid": uuid}, endpoint=otlp_sink.url)

    assert answer.header["ok"] is False
    assert answer.header["error"]["type"] == error_type
    assert answer.returncode == 0
    span, _ = otlp_sink.received.for_flowfile(uuid)
    assert span.is_error


def test_returned_attributes_cannot_change_the_uuid(otlp_sink, tmp_path):
    script = user_script(
        tmp_path,
        """
        def transform(content, attributes):
            return {"attributes": {"uuid": "forged", "rows": 3}}
        """,
    )
    answer = run_runner(script, b"x", {"uuid": "ff-7"}, endpoint=otlp_sink.url)

    assert answer.header["ok"] is True
    assert answer.content is None  # content unchanged
    assert "uuid" not in answer.attributes
    assert answer.attributes["rows"] == "3"


def test_output_over_the_content_limit_fails(otlp_sink, tmp_path):
    script = user_script(tmp_path, "def transform(content, attributes):\n    return b'y' * 2048\n")
    answer = run_runner(script, b"x", {"uuid": "ff-8"}, endpoint=otlp_sink.url, max_content_bytes=1024)

    assert answer.header["ok"] is False
    assert "over the 1024 byte limit" in answer.header["error"]["message"]


def test_malformed_request_is_refused_with_a_protocol_error(otlp_sink):
    answer = run_runner(EXAMPLE, b"", {}, endpoint=otlp_sink.url, raw_request=b'{"v": 1, "content_length": 10}\nshort')

    assert answer.returncode == 2
    assert answer.header["error"]["type"] == "ProtocolError"
    assert json.dumps(answer.header)  # still a well-formed answer for ExecutePython.py
