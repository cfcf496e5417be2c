import subprocess
import sys

import httpx

from tests.harness.ports import free_port


def run_cli(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "otelmon.cli", *args], capture_output=True, text=True, timeout=60, env=env
    )


def test_send_test_failure_reaches_the_api(start_api, mariadb_url):
    api = start_api({"OTELMON_DATABASE_URL": mariadb_url, "OTELMON_INGEST_TOKEN": "tok"})
    result = run_cli("send-test-failure", "--endpoint", api.url, "--token", "tok")
    assert result.returncode == 0, result.stderr
    trace_id = result.stdout.split("trace ")[1].split(",")[0]
    headers = {"authorization": "Bearer tok"}
    (item,) = httpx.get(f"{api.url}/api/v1/failures", headers=headers).json()["items"]
    assert (item["platform"], item["group"], item["process"]) == ("otelmon", "otelmon_smoke_test", "send_test_failure")
    assert item["trace_id"] == trace_id and item["error_type"] == "otelmon.test_failure.TestFailureError"


def test_send_test_failure_fails_loudly_when_nothing_listens():
    result = run_cli("send-test-failure", "--endpoint", f"http://127.0.0.1:{free_port()}")
    assert result.returncode == 1
    assert "did not accept" in result.stderr
