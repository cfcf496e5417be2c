"""Runs and issues from real OTLP (the OTel SDK's exporter) through ``otelmon serve``, on both databases."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.collector.runs import send
from tests.harness.api_server import ApiServer
from tests.harness.spans import SpanFactory

STEP = {"otelmon.platform": "airflow", "otelmon.group": "nightly", "otelmon.process": "load"}


@pytest.fixture
def api(start_api: Callable[..., ApiServer], database_url: str) -> ApiServer:
    return start_api({"OTELMON_DATABASE_URL": database_url, "OTELMON_ALERTS_ENABLED": "false"})


def runs_stored(database_url: str) -> list[tuple]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(
                "SELECT process_name, run_id, try_number, outcome, fingerprint IS NOT NULL FROM runs"
                " ORDER BY end_time, id"))]
    finally:
        engine.dispose()


def issues(api: ApiServer, **params) -> list[dict]:
    response = httpx.get(f"{api.url}/api/v1/issues", params=params, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def try_of(run_id: str, number: int, **extra) -> dict:
    return {**STEP, "otelmon.run_id": run_id, "otelmon.try_number": number, **extra}


def test_each_try_is_one_run_and_a_success_after_a_retry_resolves_the_issue(api: ApiServer, database_url: str):
    factory = SpanFactory("airflow")
    factory.failing("load", try_of("r1", 1, **{"otelmon.will_retry": True}), exc=ValueError("bad row"))
    factory.ok("parse", {**try_of("r1", 2), "otelmon.step": "parse"})  # a step inside the try: not a run
    factory.ok("load", try_of("r1", 2))
    factory.ok("http GET")  # neither a failure nor a run
    spans = factory.take()
    send(f"{api.url}/v1/traces", spans)
    send(f"{api.url}/v1/traces", spans)  # redelivered: nothing more

    assert runs_stored(database_url) == [("load", "r1", 1, "failed_will_retry", 1), ("load", "r1", 2, "success", 0)]
    [failure] = httpx.get(f"{api.url}/api/v1/failures").json()["items"]
    assert failure["will_retry"] is True
    [issue] = issues(api)
    assert issue["state"] == "resolved"
    assert (issue["occurrences"], issue["consecutive_failed_runs"], issue["last_run_outcome"]) == (1, 0, "success")
    assert issue["fingerprint"] == failure["fingerprint"] and issue["failing_since"] is None
    assert issue["resolved_at"] is not None and issue["error_type"] == "ValueError"

    # The next run fails on its last try: the issue is back, regressed, one failed run.
    factory.failing("load", try_of("r2", 1), exc=ValueError("bad row again"))
    send(f"{api.url}/v1/traces", factory.take())
    [issue] = issues(api)
    assert (issue["state"], issue["occurrences"], issue["consecutive_failed_runs"]) == ("regressed", 2, 1)
    failing_since = issue["failing_since"]
    assert failing_since is not None and issue["resolved_at"] is None

    factory.failing("load", try_of("r3", 1), exc=ValueError("and again"))
    send(f"{api.url}/v1/traces", factory.take())
    [issue] = issues(api)
    assert (issue["state"], issue["occurrences"], issue["consecutive_failed_runs"]) == ("ongoing", 3, 2)
    assert issue["failing_since"] == failing_since
    assert runs_stored(database_url)[-2:] == [("load", "r2", 1, "failed", 1), ("load", "r3", 1, "failed", 1)]

    # A failure's detail names its issue's state and since when it fails.
    newest = httpx.get(f"{api.url}/api/v1/failures", params={"limit": 1}).json()["items"][0]
    detail = httpx.get(f"{api.url}/api/v1/failures/{newest['id']}").json()
    assert detail["issue"]["state"] == "ongoing" and detail["issue"]["failing_since"] == failing_since


def test_a_success_resolves_every_open_issue_of_its_step_and_nothing_else(api: ApiServer):
    factory = SpanFactory("airflow")
    factory.failing("load", try_of("r1", 1), exc=ValueError("bad row"))
    factory.failing("load", try_of("r2", 1), exc=KeyError("id"))
    factory.failing("other", {**try_of("r1", 1), "otelmon.process": "other"}, exc=ValueError("x"))
    send(f"{api.url}/v1/traces", factory.take())
    assert sorted(i["state"] for i in issues(api)) == ["new", "new", "new"]

    factory.ok("load", try_of("r3", 1))
    send(f"{api.url}/v1/traces", factory.take())
    by_process = sorted((i["process"], i["error_type"], i["state"]) for i in issues(api))
    assert by_process == [("load", "KeyError", "resolved"), ("load", "ValueError", "resolved"),
                          ("other", "ValueError", "new")]
    assert [i["process"] for i in issues(api, state="new")] == ["other"]
    assert len(issues(api, process="load", state="resolved")) == 2
    page = httpx.get(f"{api.url}/api/v1/issues", params={"limit": 2}).json()
    rest = httpx.get(f"{api.url}/api/v1/issues", params={"limit": 2, "cursor": page["next_cursor"]}).json()
    assert len(page["items"]) == 2 and len(rest["items"]) == 1 and rest["next_cursor"] is None
    assert {i["id"] for i in page["items"] + rest["items"]} == {i["id"] for i in issues(api)}


def test_an_older_success_delivered_late_resolves_nothing(api: ApiServer):
    factory = SpanFactory("airflow")
    factory.ok("load", try_of("r1", 1))
    early_success = factory.take()
    factory.failing("load", try_of("r2", 1), exc=ValueError("bad row"))
    send(f"{api.url}/v1/traces", factory.take())
    send(f"{api.url}/v1/traces", early_success)  # a collector queue draining out of order
    [issue] = issues(api)
    assert issue["state"] == "new"


def test_the_issues_command_lists_them_from_the_database(api: ApiServer, database_url: str, tmp_path):
    factory = SpanFactory("airflow")
    factory.failing("load", try_of("r1", 1), exc=ValueError("bad row"))
    factory.failing("other", {**try_of("r1", 1), "otelmon.process": "other"}, exc=KeyError("id"))
    factory.ok("other", {**try_of("r2", 1), "otelmon.process": "other"})
    send(f"{api.url}/v1/traces", factory.take())

    env = {k: v for k, v in os.environ.items() if not k.startswith("OTELMON_")}
    done = subprocess.run([sys.executable, "-m", "otelmon.cli", "issues", "--state", "new"], cwd=tmp_path,
                          env={**env, "OTELMON_DATABASE_URL": database_url}, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("database: ")
    assert re.fullmatch(r"#\d+ new {7}airflow / nightly / load: ValueError", lines[1]), lines
    assert "1 occurrence(s)" in lines[2] and "failing since" in lines[2] and "1 failed run(s) in a row" in lines[2]
    assert "other" not in done.stdout  # resolved
