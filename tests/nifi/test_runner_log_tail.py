"""A FlowFile that fails carries the lines its transform logged (in the runner's worker thread), masked."""

from __future__ import annotations

from tests.nifi.runner_process import run_runner
from tests.nifi.test_runner import user_script

SCRIPT = """
import logging

log = logging.getLogger("orders")

def transform(content, attributes):
    log.warning("parsing %d bytes from sftp://nifi:hunter2@files.example/in", len(content))
    if attributes.get("fail") == "true":
        log.error("row 2 is bad")
        raise ValueError("bad row")
    return content
"""


def test_a_failing_flowfile_carries_its_log_lines_and_a_good_one_none(otlp_sink, tmp_path):
    script = user_script(tmp_path, SCRIPT)
    failed = run_runner(script, b"a\n1\n", {"uuid": "ff-log-1", "fail": "true"}, endpoint=otlp_sink.url)
    assert failed.header["ok"] is False
    span, _ = otlp_sink.received.for_flowfile("ff-log-1")
    lines = span.attributes["otelmon.log.tail"].split("\n")
    assert [line.split(" ", 1)[1] for line in lines] == [
        "WARNING orders: parsing 4 bytes from sftp://nifi:***@files.example/in", "ERROR orders: row 2 is bad"]

    passed = run_runner(script, b"a\n1\n", {"uuid": "ff-log-2"}, endpoint=otlp_sink.url)
    assert passed.header["ok"] is True
    span, _ = otlp_sink.received.for_flowfile("ff-log-2")
    assert "otelmon.log.tail" not in span.attributes
