"""The Failures pages in a real browser: the list with its filters and silenced badge, and one failure with its
error, stack trace, the other tries of its run, its issue and its links to Grafana and Airflow."""

from __future__ import annotations

from urllib.parse import quote

import httpx
import pytest

from otelmon.api.console.filters import PAGE_SIZE
from tests.console.conftest import TOKEN, export_failure, export_failures, log_in
from tests.harness.waiting import wait_until

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

RUN = "scheduled__2026-12-01T06:00:00+00:00"


def failures(console, **params) -> list[dict]:
    with httpx.Client(base_url=console.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10) as client:
        return client.get("/api/v1/failures", params=params).json()["items"]


def test_a_failure_shows_its_error_stack_trace_tries_issue_and_links(browser, console):
    export_failure(console, "load", ConnectionError("warehouse unreachable"), run=RUN, try_number=1,
                   **{"otelmon.will_retry": True})
    export_failure(console, "load", ValueError("duplicate key <uq_sales_day>"), run=RUN, try_number=2)
    export_failure(console, "load", ValueError("another run"), run="other-run", try_number=1)
    by_try = {(f["run_id"], f["try_number"]): f for f in failures(console)}
    second, first = by_try[(RUN, 2)], by_try[(RUN, 1)]

    page = log_in(browser, console, "/console/failures")
    rows = page.locator("table.list tbody tr")
    assert rows.count() == 3
    assert "another run" in rows.nth(0).inner_text()  # newest first
    assert "will retry" in rows.filter(has_text="warehouse unreachable").inner_text()
    rows.filter(has_text="duplicate key").get_by_role("link").click()
    page.wait_for_url(f"**/console/failures/{second['id']}")

    main = page.locator("main")
    error = main.locator(".error-box").inner_text()
    assert "ValueError" in error and "duplicate key <uq_sales_day>" in error
    stack = main.locator("pre.stack").first.inner_text()
    assert stack.startswith("Traceback (most recent call last):") and "ValueError: duplicate key" in stack
    facts = main.locator("dl.facts").first.inner_text()
    assert RUN in facts and "airflow / daily_sales / load" in facts

    tries = main.locator("table.tries tbody tr")
    assert tries.count() == 2  # this run's tries only, not the other run's
    assert "try 1" in tries.nth(0).inner_text() and "failed will retry" in tries.nth(0).inner_text()
    assert "ConnectionError" in tries.nth(0).inner_text()
    assert "(this one)" in tries.nth(1).inner_text() and tries.nth(1).get_attribute("aria-current") == "true"

    trace = page.get_by_role("link", name="Trace in Grafana").get_attribute("href")
    assert trace.startswith("http://localhost:3000/explore?") and second["trace_id"] in trace
    airflow = page.get_by_role("link", name="Task in Airflow").get_attribute("href")
    assert airflow == f"http://localhost:8080/dags/daily_sales/runs/{quote(RUN, safe='')}/tasks/load?try_number=2"
    assert page.get_by_role("link", name="Processor in NiFi").count() == 0  # an Airflow task has none

    tries.nth(0).get_by_role("link", name="try 1").click()
    page.wait_for_url(f"**/console/failures/{first['id']}")
    assert "warehouse unreachable" in page.locator(".error-box").inner_text()
    assert page.get_by_role("link", name="Task in Airflow").get_attribute("href").endswith("/tasks/load?try_number=1")

    page.get_by_role("link", name="Its issue").click()
    page.wait_for_url(f"**/console/issues/{first['fingerprint']}")


def test_the_failures_list_filters_by_step_and_time(browser, console):
    export_failure(console, "load", group="daily_sales")
    export_failure(console, "publish", group="hourly_report")
    page = log_in(browser, console, "/console/failures")
    page.get_by_label("Group").fill("hourly_report")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**group=hourly_report**")
    assert page.locator("table.list tbody tr").count() == 1
    assert "hourly_report / publish" in page.locator("table.list").inner_text()

    page.goto("/console/failures?since=2999-01-01T00:00")
    assert "No failure matches these filters" in page.locator("main").inner_text()
    assert page.get_by_label("Ended from (UTC)").input_value().startswith("2999-01-01T00:00")
    page.goto("/console/failures?until=2999-01-01T00:00")
    assert page.locator("table.list tbody tr").count() == 2
    assert page.goto("/console/failures?since=yesterday").status == 400


def test_older_failures_are_a_page_away(browser, console):
    export_failures(console, PAGE_SIZE + 1)
    page = log_in(browser, console, "/console/failures?group=daily_sales")
    first = page.locator("table.list tbody tr a").all_inner_texts()
    assert len(first) == PAGE_SIZE
    page.get_by_role("link", name="Older").click()
    page.wait_for_url("**cursor=**")
    assert "group=daily_sales" in page.url
    assert page.locator("table.list tbody tr").count() == 1
    assert "step_000" in page.locator("table.list").inner_text()  # the oldest, last
    assert page.get_by_role("link", name="Older").count() == 0
    assert page.goto("/console/failures?cursor=bm90LWEtY3Vyc29y").status == 400


def test_a_new_console_says_what_to_do_on_the_failures_page(browser, console):
    page = log_in(browser, console, "/console/failures")
    assert "No failures stored" in page.locator("main").inner_text()


@pytest.mark.parametrize("path", ["/console/failures/999999", "/console/failures/0", "/console/failures/abc",
                                  "/console/failures/99999999999999999999999"])
def test_an_unknown_failure_is_a_404_page(browser, console, path):
    page = log_in(browser, console)
    answer = page.goto(path)
    assert answer.status == 404
    assert page.get_by_role("heading", level=1).inner_text() == "No such failure"


def test_a_silenced_failure_says_so_and_names_its_silence(browser, start_api, console_env):
    console = start_api({**console_env, "OTELMON_ALERTS_ENABLED": "true", "OTELMON_ALERT_GROUP_WAIT_SECONDS": "0",
                         "OTELMON_ALERT_POLL_SECONDS": "0.2"})
    with httpx.Client(base_url=console.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10) as client:
        made = client.post("/api/v1/silences", json={"matchers": {"group": "quiet_*"}, "for": "1h",
                                                     "comment": "maintenance", "author": "ops"}).json()
    export_failure(console, "load", group="quiet_dag")
    export_failure(console, "load", group="loud_dag")
    (held,) = wait_until(lambda: [f for f in failures(console) if f["silenced"]], what="the silenced failure")
    page = log_in(browser, console, "/console/failures")
    rows = page.locator("table.list tbody tr")
    assert rows.filter(has_text="quiet_dag").locator(".badge.silenced").inner_text() == "silenced"
    assert rows.filter(has_text="loud_dag").locator(".badge.silenced").count() == 0
    page.goto(f"/console/failures/{held['id']}")
    assert f"silence #{made['id']}" in page.locator("ul.links").inner_text()
