"""The receiver takes a failing span's log tail into the failure, bounded again whatever the client sent."""

from __future__ import annotations

from otelmon.failures.extract import extract_failures
from otelmon.failures.log_tail import STORED_BYTES, newest_lines, stored_tail
from tests.failures.test_extract import request_with


def test_newest_lines_drops_the_oldest_whole_lines_to_fit():
    assert newest_lines("one\ntwo\nthree", 100) == "one\ntwo\nthree"
    assert newest_lines("one\ntwo\nthree", 9) == "two\nthree"
    assert newest_lines("one\ntwo\nthree", 8) == "three"
    assert newest_lines("äöü\nxy", 4) == "xy"  # bytes, not characters


def test_a_newest_line_longer_than_the_bound_keeps_its_start():
    assert newest_lines("old\n" + "0123456789", 8) == "01234…"
    assert len(newest_lines("ü" * 100, 9).encode()) <= 9


def test_the_failure_takes_the_tail_out_of_its_attributes():
    spans = [{"attrs": {"otelmon.process": "load", "otelmon.log.tail": "line 1\nline 2"}}]
    [failure] = extract_failures(request_with(spans)).failures
    assert failure.log_tail == "line 1\nline 2"
    assert "otelmon.log.tail" not in failure.attributes["span"]
    [without] = extract_failures(request_with([{"attrs": {"otelmon.process": "load"}}])).failures
    assert without.log_tail is None


def test_a_huge_tail_from_any_client_is_cut_to_its_newest_lines():
    huge = "\n".join(f"line {n:06d} " + "x" * 100 for n in range(5000))  # ~550 KB
    [failure] = extract_failures(request_with([{"attrs": {"otelmon.log.tail": huge}}])).failures
    assert len(failure.log_tail.encode()) <= STORED_BYTES
    assert failure.log_tail.endswith(huge.split("\n")[-1]) and failure.log_tail.startswith("line ")


def test_blank_or_listed_tails():
    assert stored_tail("\n\n") is None and stored_tail(None) is None
    assert stored_tail(["a", "b"]) == "a\nb"
