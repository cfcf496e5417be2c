"""Stalled clients are dropped on a deadline and cannot hold the server (issue 12): against ``otelmon serve``."""

from __future__ import annotations

import signal
import socket
import subprocess
import time

import httpx
import pytest

from otelmon.api.deps import BODY_IDLE_TIMEOUT_SECONDS
from otelmon.api.http_protocol import HEADER_TIMEOUT_SECONDS

MARGIN = 10  # seconds a loaded 2-core machine may add to a deadline


@pytest.fixture
def api(start_api, tmp_path):
    return start_api({"OTELMON_DATABASE_URL": f"sqlite:///{tmp_path}/o.db", "OTELMON_ALERTS_ENABLED": "false"})


def stalled(api, sent: bytes) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", api.port), timeout=HEADER_TIMEOUT_SECONDS + MARGIN)
    sock.sendall(sent)
    return sock


def read_until_closed(sock: socket.socket) -> bytes:
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def test_half_sent_headers_are_dropped_and_others_are_served_meanwhile(api):
    socks = [stalled(api, b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: appl") for _ in range(50)]
    started = time.monotonic()
    assert httpx.get(f"{api.url}/healthz", timeout=5).status_code == 200
    for sock in socks:
        assert read_until_closed(sock) == b""  # closed by the server, not by our socket timeout
        sock.close()
    assert time.monotonic() - started < HEADER_TIMEOUT_SECONDS + MARGIN


def test_trickled_headers_do_not_extend_the_deadline(api):
    sock = stalled(api, b"POST /v1/traces HTTP/1.1\r\n")
    started = time.monotonic()
    with pytest.raises(OSError):  # the server closes while we still trickle
        while time.monotonic() - started < HEADER_TIMEOUT_SECONDS + MARGIN:
            sock.sendall(b"X-Slow: 1\r\n")
            time.sleep(1)  # the client's pace is the point of the test
    assert time.monotonic() - started < HEADER_TIMEOUT_SECONDS + MARGIN
    sock.close()


def test_a_stalled_body_is_answered_408(api):
    sock = stalled(api, b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n"
                        b"Content-Length: 1000\r\n\r\n0123456789")
    sock.settimeout(BODY_IDLE_TIMEOUT_SECONDS + MARGIN)
    answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 408"), answer
    sock.close()


def test_sigterm_ends_the_server_within_seconds_despite_a_stalled_client(api):
    sock = stalled(api, b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n"
                        b"Content-Length: 1000\r\n\r\n0123")
    assert httpx.get(f"{api.url}/healthz", timeout=5).status_code == 200  # served while the request stalls
    started = time.monotonic()
    api.process.send_signal(signal.SIGTERM)
    try:
        api.process.wait(BODY_IDLE_TIMEOUT_SECONDS - 1)
    except subprocess.TimeoutExpired:
        pytest.fail("the server was still running when the body deadline would have ended the stall")
    assert time.monotonic() - started < BODY_IDLE_TIMEOUT_SECONDS - 1
    sock.close()
