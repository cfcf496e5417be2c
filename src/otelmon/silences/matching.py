"""Which silence holds back a failure: pure functions over silences already loaded (one read per dispatch pass,
then matched here however many failures a storm brings)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

from otelmon.silences.model import GLOB_CHARS, Silence


def matches(matchers: Mapping[str, str], labels: Mapping[str, str | None]) -> bool:
    """Every matcher's glob (``fnmatchcase``: case-sensitive) matches its label; a label the failure lacks
    (no error type) matches nothing, as in routing."""
    for key, pattern in matchers.items():
        value = labels.get(key)
        if value is None or not fnmatchcase(value, pattern):
            return False
    return True


@dataclass
class SilenceIndex:
    """The silences in effect, arranged so that a storm of failures costs a dict lookup each where it can: a
    silence on one exact fingerprint (every ack, every "mute" link) is found by key, the rest are tried in
    turn. The oldest matching silence wins (lowest id)."""

    by_fingerprint: dict[str, list[Silence]] = field(default_factory=dict)
    others: list[Silence] = field(default_factory=list)
    needed: set[str] = field(default_factory=set)  # the labels any of them looks at

    @classmethod
    def of(cls, silences: Iterable[Silence]) -> SilenceIndex:
        index = cls()
        for silence in sorted(silences, key=lambda s: s.id):
            index.needed.update(silence.matchers)
            fingerprint = silence.matchers.get("fingerprint")
            if fingerprint is not None and not GLOB_CHARS & set(fingerprint):
                index.by_fingerprint.setdefault(fingerprint, []).append(silence)
            else:
                index.others.append(silence)
        return index

    def __bool__(self) -> bool:
        return bool(self.by_fingerprint or self.others)

    def first_match(self, labels: Mapping[str, str | None]) -> Silence | None:
        candidates: Sequence[Silence] = self.by_fingerprint.get(labels.get("fingerprint") or "", ())
        found = [s for s in (*candidates, *self.others) if matches(s.matchers, labels)]
        return min(found, key=lambda s: s.id) if found else None
