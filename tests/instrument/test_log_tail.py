"""The last lines a try logged travel on its failing span, masked and bounded; nothing is kept outside a try."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading

import pytest

import trace_log
from otelmon.instrument import log_tail
from otelmon.instrument.log_tail import Tail

TAIL = "otelmon.log.tail"
log = logging.getLogger("tests.job")


def lines(text: str) -> list[str]:
    """The messages of a tail's lines, without the timestamp, level and logger name in front."""
    return [line.split(": ", 1)[1] if line.startswith("20") else line for line in text.split("\n")]


# --------------------------------------------------------------------------- the ring buffer
def test_the_tail_keeps_the_newest_lines_within_its_line_bound():
    tail = Tail(max_lines=3, max_bytes=1000)
    for n in range(1, 6):
        tail.add(f"line {n}")
    assert tail.text() == "line 3\nline 4\nline 5"


def test_the_tail_keeps_the_newest_lines_within_its_byte_bound():
    tail = Tail(max_lines=100, max_bytes=20)
    for n in range(1, 6):
        tail.add(f"line-0{n}")  # 7 bytes each, 8 with its newline
    assert tail.text() == "line-04\nline-05"  # 15 bytes; a third line would make 23
    tail.add("ü" * 8)  # 16 bytes: bytes are counted, not characters
    assert tail.text() == "ü" * 8


def test_a_line_longer_than_the_byte_bound_keeps_its_start_marked_as_cut():
    tail = Tail(max_lines=10, max_bytes=10)
    tail.add("older")
    tail.add("0123456789abcdef")
    assert tail.text() == "0123456…" and len(tail.text().encode()) <= 10


def test_a_record_of_several_lines_counts_each_line():
    tail = Tail(max_lines=3, max_bytes=1000)
    tail.add("first")
    tail.add("Traceback (most recent call last):\n  File \"x.py\", line 1\nValueError: bad")
    assert tail.text() == "Traceback (most recent call last):\n  File \"x.py\", line 1\nValueError: bad"


def test_a_huge_record_is_masked_whole_before_it_is_cut(recorded):
    @trace_log.traced
    def one_line():
        log.warning("connect postgresql://etl:s3cr3t@db/x " + "x" * 200_000)
        raise ValueError("dumped")

    @trace_log.traced
    def many_lines():
        log.warning("\n".join(["postgresql://etl:s3cr3t@db/x"] + [f"row {n}" for n in range(30_000)]))
        raise ValueError("dumped")

    for job in (one_line, many_lines):
        with pytest.raises(ValueError):
            job()
    spans = recorded.spans()
    line = spans["one_line"].attributes[TAIL]
    assert "s3cr3t" not in line and "postgresql://etl:***@db/x xxx" in line and len(line.encode()) <= 8 * 1024
    lines = spans["many_lines"].attributes[TAIL]
    assert lines.endswith("row 29999") and lines.count("\n") == 49


# --------------------------------------------------------------------------- on a try's span
def test_a_failing_try_carries_its_last_lines_masked_and_a_record_after_the_try_is_not_kept(recorded):
    @trace_log.traced(process="load")
    def load(rows):
        log.warning("loading %d rows", len(rows))
        log.warning("connect postgresql://etl:s3cr3t@db:5432/sales with password=hunter2")
        raise ValueError("bad row 2")

    log.warning("before the try")
    with pytest.raises(ValueError):
        load(["7", "x"])
    assert not log_tail.capturing()
    log.warning("after the try")

    span = recorded.spans()["load"]
    assert lines(span.attributes[TAIL]) == [
        "loading 2 rows", "connect postgresql://etl:***@db:5432/sales with password=***"]
    first = span.attributes[TAIL].split("\n")[0]
    assert first.endswith("Z WARNING tests.job: loading 2 rows") and first.startswith("20")
    [failure] = recorded.failures()
    assert failure.log_tail == span.attributes[TAIL]
    assert TAIL not in failure.attributes["span"]  # stored once, in its own column

    # A logger whose name looks like a key is no "key: value" pair: only messages are masked.
    tokens = logging.getLogger("auth.tokens")

    @trace_log.traced(process="again")
    def again():
        log.warning("second try")
        tokens.warning("refreshed 5 tokens")
        raise ValueError("again")

    with pytest.raises(ValueError):
        again()
    tail = recorded.spans()["again"].attributes[TAIL]
    assert lines(tail) == ["second try", "refreshed 5 tokens"] and " auth.tokens: refreshed" in tail


def test_a_try_that_succeeds_carries_no_lines_and_leaves_no_handler(recorded):
    @trace_log.traced
    def fine():
        log.warning("all good")

    fine()
    assert TAIL not in recorded.spans()["fine"].attributes
    assert not log_tail.capturing() and log_tail._active == []
    assert logging.getLogRecordFactory() is logging.LogRecord or not hasattr(
        logging.getLogRecordFactory(), "otelmon_wrapped")


def test_a_step_that_is_its_own_try_carries_its_lines_and_nested_steps_log_into_the_same_tail(recorded):
    with pytest.raises(OSError), trace_log.step("archive"):
        log.warning("outer line")
        with trace_log.step("copy"):
            log.warning("inner line")
            raise OSError("disk full")
    spans = recorded.spans()
    assert lines(spans["archive"].attributes[TAIL]) == ["outer line", "inner line"]
    assert TAIL not in spans["copy"].attributes  # the owner reports the failure, with the lines


def test_the_bounds_come_from_configure_then_the_environment(recorded, monkeypatch):
    @trace_log.traced
    def chatty():
        for n in range(10):
            log.warning("line %d", n)
        raise RuntimeError("x")

    monkeypatch.setenv("OTELMON_LOG_TAIL_LINES", "3")
    with pytest.raises(RuntimeError):
        chatty()
    assert lines(recorded.memory.get_finished_spans()[-1].attributes[TAIL]) == ["line 7", "line 8", "line 9"]

    trace_log.configure(log_tail_lines=2)
    with pytest.raises(RuntimeError):
        chatty()
    assert lines(recorded.memory.get_finished_spans()[-1].attributes[TAIL]) == ["line 8", "line 9"]

    trace_log.configure(log_tail_bytes=60)
    with pytest.raises(RuntimeError):
        chatty()
    tail = recorded.memory.get_finished_spans()[-1].attributes[TAIL]
    assert lines(tail) == ["line 9"] and len(tail.encode()) <= 60

    trace_log.configure(log_tail_lines=0)  # off
    with pytest.raises(RuntimeError):
        chatty()
    assert TAIL not in recorded.memory.get_finished_spans()[-1].attributes
    with pytest.raises(ValueError, match="log_tail_bytes"):
        trace_log.configure(log_tail_bytes=-1)


def test_concurrent_tries_keep_their_own_lines_and_an_untraced_thread_joins_the_only_try(recorded):
    both_started = threading.Barrier(2, timeout=10)
    both_logged = threading.Barrier(2, timeout=10)

    def job(name):
        @trace_log.traced(process=name)
        def run():
            both_started.wait()
            log.warning("from %s", name)
            both_logged.wait()
            raise ValueError(name)

        try:
            run()
        except ValueError:
            pass

    threads = [threading.Thread(target=job, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    spans = {span.attributes["otelmon.process"]: span for span in recorded.memory.get_finished_spans()}
    assert lines(spans["a"].attributes[TAIL]) == ["from a"] and lines(spans["b"].attributes[TAIL]) == ["from b"]

    @trace_log.traced(process="solo")
    def solo():
        worker = threading.Thread(target=lambda: log.warning("from a worker thread"))
        worker.start()
        worker.join(10)
        raise ValueError("solo")

    with pytest.raises(ValueError):
        solo()
    assert lines(recorded.memory.get_finished_spans()[-1].attributes[TAIL]) == ["from a worker thread"]


def run_script(tmp_path, code: str) -> subprocess.CompletedProcess:
    script = tmp_path / "job.py"
    script.write_text(code, encoding="utf-8")
    return subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=False,
                          env={**{k: v for k, v in os.environ.items() if not k.startswith("OTEL")},
                               "OTEL_TRACES_EXPORTER": "console"})


def test_the_jobs_own_logging_behaves_as_without_tracing(tmp_path):
    # Python prints WARNING and above to stderr when no handler exists, and basicConfig() configures only a
    # root logger without handlers: capturing lines must change neither.
    done = run_script(tmp_path, (
        "import logging, trace_log\n"
        "@trace_log.traced\n"
        "def bare():\n"
        "    logging.getLogger('bare').warning('disk almost full')\n"
        "    logging.getLogger('bare').info('not shown: below WARNING')\n"
        "@trace_log.traced\n"
        "def main():\n"
        "    logging.basicConfig(level=logging.INFO, format='configured %(levelname)s %(message)s')\n"
        "    logging.getLogger('main').info('now at INFO')\n"
        "    raise SystemExit('stop')\n"
        "bare()\n"
        "main()\n"))
    assert done.returncode == 1, done.stderr
    assert done.stderr.splitlines()[:3] == ["disk almost full", "configured INFO now at INFO", "stop"]
    assert "now at INFO" in done.stdout  # the console exporter's span of main() carries the line


def test_a_line_is_kept_once_when_another_library_wraps_the_record_factory(recorded):
    # Another library (OpenTelemetry's logging instrumentation, say) replaces the factory during a try and
    # keeps ours inside its own: ours is then left in place, and the next try installs another over it.
    original = logging.getLogRecordFactory()

    @trace_log.traced(process="first")
    def first():
        inner = logging.getLogRecordFactory()
        logging.setLogRecordFactory(lambda *args, **kwargs: inner(*args, **kwargs))
        raise ValueError("first")

    @trace_log.traced(process="second")
    def second():
        log.warning("only once")
        raise ValueError("second")

    try:
        with pytest.raises(ValueError):
            first()
        with pytest.raises(ValueError):
            second()
    finally:
        logging.setLogRecordFactory(original)
        log_tail._installed = None
    assert lines(recorded.spans()["second"].attributes[TAIL]) == ["only once"]
