import socket
import subprocess
import sys
import threading
import time

import httpx

from otelmon.test_failure import token_for
from tests.harness.ports import free_port


def run_cli(*args, env=None, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "otelmon.cli", *args], capture_output=True, text=True, timeout=60, env=env, cwd=cwd
    )


def test_send_test_failure_reaches_the_api(start_api, mariadb_url):
    api = start_api({"OTELMON_DATABASE_URL": mariadb_url, "OTELMON_INGEST_TOKEN": "tok"})
    result = run_cli("send-test-failure", "--endpoint", api.url, "--token", "tok")
    assert result.returncode == 0, result.stderr
    trace_id = result.stdout.split("trace ")[1].split(",")[0]
    headers = {"authorization": "Bearer tok"}
    (item,) = httpx.get(f"{api.url}/api/v1/failures", headers=headers).json()["items"]
    assert (item["platform"], item["group"], item["process"]) == ("otelmon", "otelmon_smoke_test", "send_test_failure")
    assert item["trace_id"] == trace_id and item["error_type"].startswith("otelmon.test_failure.TestFailureError[")


def test_every_call_produces_an_email(start_api, smtp_sink, tmp_path):
    api = start_api({"OTELMON_DATABASE_URL": f"sqlite:///{tmp_path / 'otelmon.db'}", "OTELMON_SMTP_HOST": "127.0.0.1",
                     "OTELMON_SMTP_PORT": str(smtp_sink.port), "OTELMON_ALERT_RECIPIENTS": "team@example.com"})
    for _ in range(2):  # well within the repeat interval (an hour)
        result = run_cli("send-test-failure", "--endpoint", api.url)
        assert result.returncode == 0, result.stderr
        assert "throttling never holds its email back" in result.stdout
    first, second = smtp_sink.wait_for(2)
    assert first.message["Message-ID"] != second.message["Message-ID"]


def test_a_refused_connection_fails_fast_with_a_hint_and_no_traceback(tmp_path):
    endpoint = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    result = run_cli("send-test-failure", "--endpoint", endpoint, cwd=tmp_path)
    assert time.monotonic() - started < 5
    assert result.returncode == 1
    assert f"nothing listens at {endpoint}" in result.stderr
    assert "--endpoint http://127.0.0.1:8090" in result.stderr and "--token" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_a_missing_token_says_how_to_pass_it(start_api, mariadb_url, tmp_path):
    api = start_api({"OTELMON_DATABASE_URL": mariadb_url, "OTELMON_INGEST_TOKEN": "tok"})
    result = run_cli("send-test-failure", "--endpoint", api.url, cwd=tmp_path)
    assert result.returncode == 1 and "--token" in result.stderr and "Traceback" not in result.stderr


def test_the_configured_token_goes_only_to_loopback_unless_given_explicitly():
    # The default endpoint is $OTEL_EXPORTER_OTLP_ENDPOINT, which may be a vendor's: no secret goes there
    # unless the user names it.
    assert token_for("http://127.0.0.1:8090", None, "configured") == "configured"
    assert token_for("http://localhost:4318", None, "configured") == "configured"
    assert token_for("http://[::1]:8090", None, "configured") == "configured"
    assert token_for("https://otlp.vendor.example:4318", None, "configured") is None
    assert token_for("https://otlp.vendor.example:4318", "explicit", "configured") == "explicit"


def test_a_peer_that_is_not_http_gives_one_line_not_a_traceback(tmp_path):
    # Something that accepts the connection and closes it without an HTTP answer.
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]

        def close_each() -> None:
            connection, _ = server.accept()
            connection.recv(65536)
            connection.close()

        thread = threading.Thread(target=close_each, daemon=True)
        thread.start()
        done = subprocess.run([sys.executable, "-m", "otelmon.cli", "send-test-failure", "--endpoint",
                               f"http://127.0.0.1:{port}"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
        thread.join(timeout=10)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and "broke off the exchange" in done.stderr, done.stderr
