"""Action tokens: signed, expiring, URL-safe; a changed byte or another key is refused (pure functions)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from otelmon.actions.links import action_links
from otelmon.actions.tokens import ACK, MUTE, ExpiredToken, InvalidToken, sign, verify
from otelmon.config import Settings

SECRET = b"k" * 32
FP = "0123456789abcdef"
NOW = datetime(2026, 12, 1, 12, 0)


def test_a_signed_token_verifies_to_its_request_until_it_expires():
    token = sign(SECRET, MUTE, FP, NOW + timedelta(days=7))
    assert re.fullmatch(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+", token)  # URL-safe, no padding
    request = verify(SECRET, token, NOW)
    assert (request.action, request.fingerprint, request.expires_at) == (MUTE, FP, NOW + timedelta(days=7))
    with pytest.raises(ExpiredToken, match="expired"):
        verify(SECRET, token, NOW + timedelta(days=7))


def test_the_key_of_a_link_tells_links_apart_and_is_stable():
    mute, ack = (verify(SECRET, sign(SECRET, a, FP, NOW + timedelta(days=1)), NOW) for a in (MUTE, ACK))
    assert mute.key != ack.key and len(mute.key) == 64
    assert verify(SECRET, sign(SECRET, MUTE, FP, NOW + timedelta(days=1)), NOW).key == mute.key


def flip(text: str, index: int) -> str:
    return text[:index] + ("A" if text[index] != "A" else "B") + text[index + 1:]


def test_tampered_or_foreign_tokens_are_invalid_not_expired():
    token = sign(SECRET, MUTE, FP, NOW + timedelta(days=7))
    payload, signature = token.split(".")
    for bad in [flip(token, 3), flip(token, len(payload) + 3), payload, payload + ".", "", "a.b.c", "%%.%%",
                token + "A", "x" * 600]:
        with pytest.raises(InvalidToken):
            verify(SECRET, bad, NOW)
    with pytest.raises(InvalidToken, match="signature"):
        verify(b"another key", token, NOW)
    # An expired link whose expiry was moved forward is a forgery, not an expired link.
    old = sign(SECRET, ACK, FP, NOW - timedelta(days=1))
    forged = sign(b"attacker", ACK, FP, NOW + timedelta(days=1)).split(".")[0] + "." + old.split(".")[1]
    with pytest.raises(InvalidToken):
        verify(SECRET, forged, NOW)


def test_action_links_are_built_on_the_public_url():
    settings = Settings(public_url="https://otelmon.example.com/", action_link_days=2)
    links = action_links(settings, SECRET, FP, now=NOW)
    assert set(links) == {"mute", "ack"}
    for key, action in (("mute", MUTE), ("ack", ACK)):
        prefix = "https://otelmon.example.com/actions/"
        assert links[key].startswith(prefix)
        request = verify(SECRET, links[key].removeprefix(prefix), NOW)
        assert (request.action, request.fingerprint, request.expires_at) == (action, FP, NOW + timedelta(days=2))
