"""Matching a failure's labels against silences, durations and matchers as people write them (pure functions)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from otelmon.silences.matching import SilenceIndex, matches
from otelmon.silences.model import Silence, check_matchers, parse_duration, parse_matcher

NOW = datetime(2026, 12, 1, 12, 0)
LABELS = {"platform": "airflow", "group": "billing_daily", "process": "load", "error_type": "ValueError",
          "fingerprint": "0123456789abcdef"}


def silence(id_: int, **matchers: str) -> Silence:
    return Silence(id=id_, kind="silence", matchers=matchers, starts_at=NOW, ends_at=NOW + timedelta(hours=1),
                   comment="c", created_by="a", created_at=NOW, expired_at=None)


@pytest.mark.parametrize(("matchers", "expected"), [
    ({"group": "billing_*"}, True),
    ({"group": "billing_?aily"}, True),
    ({"group": "billing_[dw]*"}, True),
    ({"group": "billing"}, False),  # a glob matches the whole value, not a prefix
    ({"group": "Billing_*"}, False),  # case-sensitive, as routes
    ({"platform": "airflow", "group": "billing_*", "process": "load"}, True),
    ({"platform": "airflow", "group": "billing_*", "process": "extract"}, False),  # every matcher must match
    ({"error_type": "Value*", "fingerprint": "0123*"}, True),
    ({"platform": "nifi"}, False),
])
def test_every_matcher_must_match_its_label(matchers, expected):
    assert matches(matchers, LABELS) is expected


def test_a_label_the_failure_lacks_matches_nothing():
    assert not matches({"error_type": "*"}, {**LABELS, "error_type": None})
    assert matches({"group": "*"}, {**LABELS, "error_type": None})


def test_the_index_finds_exact_fingerprints_by_key_and_globs_by_trying_and_the_oldest_wins():
    index = SilenceIndex.of([silence(3, group="billing_*"), silence(2, fingerprint="0123456789abcdef"),
                             silence(5, fingerprint="0123*", process="extract"), silence(1, platform="nifi")])
    assert list(index.by_fingerprint) == ["0123456789abcdef"]
    assert [s.id for s in index.others] == [1, 3, 5]
    assert index.needed == {"group", "fingerprint", "process", "platform"}
    assert index.first_match(LABELS).id == 2
    assert index.first_match({**LABELS, "fingerprint": "ffffffffffffffff"}).id == 3
    assert index.first_match({**LABELS, "group": "sales", "fingerprint": "0123000000000000"}) is None
    assert not SilenceIndex.of([])


def test_status_follows_start_end_and_early_expiry():
    s = silence(1, group="x")
    assert s.status(NOW - timedelta(seconds=1)) == "pending"
    assert s.status(NOW) == "active"
    assert s.status(NOW + timedelta(hours=1)) == "expired"
    ended = Silence(**{**s.__dict__, "expired_at": NOW + timedelta(minutes=5)})
    assert ended.status(NOW + timedelta(minutes=5)) == "expired" and ended.ended_at() == NOW + timedelta(minutes=5)
    ack = Silence(**{**s.__dict__, "kind": "ack", "ends_at": None})
    assert ack.status(NOW + timedelta(days=400)) == "active" and ack.ended_at() is None


@pytest.mark.parametrize(("text", "seconds"), [("30s", 30), ("15m", 900), ("24h", 86400), ("7d", 604800),
                                               ("2w", 1209600), ("1h30m", 5400), (" 1h 30m ", 5400)])
def test_durations(text, seconds):
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "24", "h", "1x", "-1h", "0h", "1.5h", "24h!", "1h 3"])
def test_bad_durations_say_what_is_expected(text):
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration(text)


@pytest.mark.parametrize(("matchers", "message"), [
    ({}, "at least one matcher"),
    ({"owner": "x"}, "unknown matcher 'owner'"),
    ({"group": " "}, "must not be empty"),
    ({"group": "x" * 256}, "longer than 255"),
    ({"group": "billing_[ab"}, "unbalanced"),
])
def test_bad_matchers_are_refused_with_the_reason(matchers, message):
    with pytest.raises(ValueError, match=message):
        check_matchers(matchers)


def test_cli_matchers():
    assert parse_matcher("group=billing_*") == ("group", "billing_*")
    assert parse_matcher("error_type = Key=Error") == ("error_type", "Key=Error")
    with pytest.raises(ValueError, match="KEY=PATTERN"):
        parse_matcher("billing_*")
