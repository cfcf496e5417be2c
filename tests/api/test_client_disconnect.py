"""A client that leaves in the middle of its request body is one INFO line in the log, not an ERROR with a
traceback, and the server carries on."""

import socket

import httpx
import pytest

from tests.harness.waiting import wait_until


@pytest.fixture
def api(start_api, tmp_path):
    return start_api({"OTELMON_DATABASE_URL": f"sqlite:///{tmp_path / 'otelmon.db'}",
                      "OTELMON_ALERTS_ENABLED": "false"})


@pytest.mark.parametrize(("path", "content_type"), [("/v1/traces", "application/x-protobuf"),
                                                    ("/api/v1/process-failure", "application/json")])
def test_client_leaving_mid_body_is_one_info_line(api, path, content_type):
    with socket.create_connection(("127.0.0.1", api.port), timeout=10) as conn:
        conn.sendall(f"POST {path} HTTP/1.1\r\nHost: test\r\nContent-Type: {content_type}\r\n"
                     f"Content-Length: 100000\r\n\r\n".encode() + b"\x0a" * 500)
        pass  # closed with 99,500 bytes of the body still to come
    lines = wait_until(lambda: [line for line in api.output if "client disconnected" in line],
                       what="the disconnect to be logged")
    assert len(lines) == 1 and " INFO " in lines[0] and path in lines[0], lines
    assert httpx.get(f"{api.url}/healthz").status_code == 200
    log = api.logs()
    assert "Traceback" not in log and "ERROR" not in log, log
