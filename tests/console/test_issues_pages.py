"""The Issues pages in a real browser: ``otelmon serve`` fed failures by the OTel SDK's OTLP exporter; the list
with its states, filters and pages, an issue with its failures, acknowledging it, and unknown issues."""

from __future__ import annotations

import re

import httpx
import pytest

from otelmon.api.console.filters import PAGE_SIZE
from tests.console.conftest import TOKEN, export_failure, export_failures, log_in

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def api(console) -> httpx.Client:
    return httpx.Client(base_url=console.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)


def fingerprint_of(console, process: str) -> str:
    with api(console) as client:
        items = client.get("/api/v1/issues", params={"process": process}).json()["items"]
    (issue,) = items
    return issue["fingerprint"]


def test_a_new_console_says_what_to_do_then_lists_issues_with_their_state_and_filters_them(browser, console):
    page = log_in(browser, console, "/console/issues")
    assert "No issues yet" in page.locator("main").inner_text()
    assert "/api/v1/process-failure" in page.locator("main").inner_text()

    export_failure(console, "load", ValueError("duplicate key <b>42</b>"), group="daily_sales")
    export_failure(console, "publish", KeyError("region"), group="hourly_report", platform="nifi", service="nifi")
    page.reload()
    rows = page.locator("table.list tbody tr")
    assert rows.count() == 2
    load = rows.filter(has_text="airflow / daily_sales / load")
    assert load.locator(".badge").inner_text() == "new"
    assert "ValueError" in load.inner_text() and re.search(r"\b1\b", load.locator("td.num").inner_text())
    assert "(1 failed run in a row)" in load.inner_text()

    page.get_by_label("Process").fill("publish")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**/console/issues?*process=publish*")
    assert page.locator("table.list tbody tr").count() == 1
    assert "nifi / hourly_report / publish" in page.locator("table.list").inner_text()
    assert page.get_by_label("Process").input_value() == "publish"  # the form keeps what was asked

    page.goto("/console/issues?state=resolved")
    assert page.locator("table.list").count() == 0
    assert "No issue matches these filters" in page.locator("main").inner_text()
    page.get_by_label("State").select_option("new")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**state=new**")
    assert page.locator("table.list tbody tr").count() == 2

    answer = page.goto("/console/issues?state=broken")
    assert answer.status == 400 and "state" in page.locator("main").inner_text()


def test_older_issues_are_a_page_away(browser, console):
    export_failures(console, PAGE_SIZE + 1)
    page = log_in(browser, console, "/console/issues?platform=airflow")
    first = page.locator("table.list tbody tr a").all_inner_texts()
    assert len(first) == PAGE_SIZE
    page.get_by_role("link", name="Older").click()
    page.wait_for_url("**cursor=**")
    second = page.locator("table.list tbody tr a").all_inner_texts()
    assert len(second) == 1 and second[0] not in first
    assert "platform=airflow" in page.url  # the filters travel with the cursor
    assert page.get_by_role("link", name="Older").count() == 0
    page.get_by_role("link", name="Newest").click()
    page.wait_for_url(lambda url: "cursor" not in url)
    assert page.locator("table.list tbody tr").count() == PAGE_SIZE

    assert page.goto("/console/issues?cursor=not-a-cursor").status == 400


def test_an_issue_shows_its_failures_and_is_acknowledged_from_its_page(browser, console):
    export_failure(console, "load", ValueError("bad row"), run="run-9", try_number=1)
    export_failure(console, "load", ValueError("bad row again"), run="run-9", try_number=2)
    fingerprint = fingerprint_of(console, "load")
    page = log_in(browser, console, "/console/issues")
    page.get_by_role("link", name="airflow / daily_sales / load").click()
    page.wait_for_url(f"**/console/issues/{fingerprint}")
    main = page.locator("main")
    assert main.locator("h1 .badge").inner_text() == "ongoing" and fingerprint in main.inner_text()
    failures = main.locator("table.list tbody tr")
    assert failures.count() == 2
    assert "try 2" in failures.nth(0).inner_text() and "try 1" in failures.nth(1).inner_text()  # newest first
    silence = page.get_by_role("link", name="Silence…")
    assert silence.get_attribute("href") == f"/console/silences/new?fingerprint={fingerprint}"

    page.get_by_label("Your name").fill("Ada <script>")
    page.get_by_label("Comment (optional)").fill("looking into it")
    page.get_by_role("button", name="Acknowledge").click()
    page.wait_for_url(f"**/console/issues/{fingerprint}?done=acked&id=*")
    assert "Acknowledged (silence #" in page.get_by_role("status").inner_text()
    held = main.locator("dl.facts").inner_text()
    assert "acknowledged" in held and "Ada <script>" in held and "looking into it" in held
    assert page.get_by_role("button", name="Acknowledge").count() == 0  # nothing left to acknowledge

    with api(console) as client:
        (ack,) = client.get("/api/v1/silences").json()["items"]
    assert ack["kind"] == "ack" and ack["matchers"] == {"fingerprint": fingerprint}
    assert (ack["author"], ack["comment"]) == ("Ada <script>", "looking into it")

    page.goto("/console/issues")
    assert page.locator("table.list tbody tr .badge.silenced").inner_text() == "acknowledged"

    page.locator("table.list a").first.click()
    page.wait_for_url(f"**/console/issues/{fingerprint}")
    page.locator("table.list tbody tr a").first.click()
    page.wait_for_url("**/console/failures/*")
    assert "bad row again" in page.locator(".error-box").inner_text()


def test_an_acknowledgement_needs_a_name_and_a_known_issue(browser, console):
    export_failure(console, "load")
    fingerprint = fingerprint_of(console, "load")
    page = log_in(browser, console, f"/console/issues/{fingerprint}")
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    blank = page.request.post(f"/console/issues/{fingerprint}/ack", form={"csrf": csrf, "author": "  "},
                              max_redirects=0)
    assert blank.status == 422 and "Not acknowledged: Say who acknowledges it" in blank.text()
    unknown = page.request.post("/console/issues/0123456789abcdef/ack", form={"csrf": csrf, "author": "Ada"},
                                max_redirects=0)
    assert unknown.status == 404
    forged = page.request.post(f"/console/issues/{fingerprint}/ack", form={"csrf": "forged", "author": "Ada"},
                               max_redirects=0)
    assert forged.status == 403
    with api(console) as client:
        assert client.get("/api/v1/silences", params={"state": "all"}).json()["items"] == []


@pytest.mark.parametrize("path", ["/console/issues/0123456789abcdef", "/console/issues/not-a-fingerprint",
                                  "/console/issues/%3Cscript%3E"])
def test_an_unknown_issue_is_a_404_page(browser, console, path):
    page = log_in(browser, console)
    answer = page.goto(path)
    assert answer.status == 404
    assert page.get_by_role("heading", level=1).inner_text() == "No such issue"
    assert "<script>" not in page.content()
