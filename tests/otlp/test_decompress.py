"""gzip bodies: the size cap holds after decompression, and the work is linear in the body's size."""

import gzip
import os
import time

import pytest

from otelmon.otlp.decompress import decode_content
from otelmon.otlp.errors import MalformedPayload, PayloadTooLarge

LIMIT = 64 * 1024 * 1024
EMPTY_MEMBER = gzip.compress(b"", mtime=0)  # 20 bytes


def cpu_seconds_to_inflate(body: bytes) -> float:
    started = time.thread_time()
    decode_content(body, "gzip", LIMIT)
    return time.thread_time() - started


def test_many_gzip_members_cost_linear_time():
    # Before: every member copied the rest of the body, so 4x the members took 16x the time
    # (400,000 empty members: 29 s of CPU). Budgets are loose for a loaded 2-core machine.
    n = 50_000
    small = cpu_seconds_to_inflate(EMPTY_MEMBER * n)
    large = cpu_seconds_to_inflate(EMPTY_MEMBER * (4 * n))
    assert large < 8 * small + 0.5, (small, large)
    assert cpu_seconds_to_inflate(EMPTY_MEMBER * 400_000) < 8


def test_members_of_every_size_decode_to_their_concatenation():
    big = os.urandom(3 * 1024 * 1024)
    parts = [b"", b"a", big, b"b" * 700, b"", os.urandom(5000)]
    body = b"".join(gzip.compress(p) for p in parts)
    assert decode_content(body, "gzip", LIMIT) == b"".join(parts)


@pytest.mark.parametrize(
    "body",
    [
        gzip.compress(b"\0" * (LIMIT + 1)),
        gzip.compress(b"\0" * (LIMIT // 2)) * 3,  # the cap holds across members too
        EMPTY_MEMBER * 1000 + gzip.compress(b"\0" * (LIMIT + 1)),
    ],
)
def test_a_body_over_the_limit_once_inflated_is_a_413(body):
    with pytest.raises(PayloadTooLarge):
        decode_content(body, "gzip", LIMIT)


@pytest.mark.parametrize(
    "body",
    [
        gzip.compress(b"x" * 5000)[:-3],  # truncated
        EMPTY_MEMBER * 10 + b"\x1f\x8b\x08",  # a member that never ends
        EMPTY_MEMBER + b"not gzip",  # trailing garbage
    ],
)
def test_a_broken_gzip_stream_is_a_400(body):
    with pytest.raises(MalformedPayload):
        decode_content(body, "gzip", LIMIT)
