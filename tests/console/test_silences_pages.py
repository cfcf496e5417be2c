"""Silences in the console, in a real browser against ``otelmon serve`` with alerts emailed to aiosmtpd: a failure
silenced from its fingerprint (the preview showing it first) is stored silenced and not emailed; expired from
the console, the next one is emailed again. Bad input: the form again with a message (422), nothing created."""

from __future__ import annotations

import html
import re

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.console.conftest import AUTH, api_get, export_failure, log_in, with_alerts
from tests.harness.waiting import wait_until

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
def console_env(console_env, smtp_sink):
    # Every failure of a fingerprint may be emailed: what stops the second one here is the silence alone.
    return with_alerts(console_env, smtp_sink.port, OTELMON_ALERT_REPEAT_INTERVAL_SECONDS="0")


def failures(api) -> dict[int, dict]:
    return {item["id"]: item for item in api_get(api, "/api/v1/failures")["items"]}


def dispatched(api, count: int) -> dict[int, dict]:
    """The failures once ``count`` are stored and each has been alerted or silenced (none left to dispatch)."""

    def settled():
        state = api_get(api, "/api/v1/alerts")
        busy = sum(state["outbox_by_state"].get(s, 0) for s in ("new", "held")) + \
            sum(state["alerts_by_state"].get(s, 0) for s in ("pending", "sending"))
        found = failures(api)
        return found if len(found) == count and busy == 0 else None

    return wait_until(settled, what=f"{count} failures dispatched")


def created_silence(page: Page) -> int:
    flash = page.get_by_role("status").inner_text()
    return int(re.fullmatch(r"Silence #(\d+) created\.", flash).group(1))


def test_silence_a_failure_from_the_console_then_expire_it(browser, console, smtp_sink):
    export_failure(console, "load", exc=ValueError("bad row"), group="billing_daily", run="run-1")
    (first,) = smtp_sink.wait_for(1)
    assert first.message["Subject"] == "[OtelMon] FAILED airflow / billing_daily / load"
    (failure,) = dispatched(console, 1).values()
    fingerprint = failure["fingerprint"]

    page = log_in(browser, console)
    errors: list[str] = []  # a style or script the CSP blocks is reported here
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.goto(f"/console/silences/new?fingerprint={fingerprint}")
    expect(page.get_by_label("Fingerprint")).to_have_value(fingerprint)
    preview = page.get_by_role("table", name="Matching issues")
    expect(preview).to_contain_text(fingerprint)
    expect(preview).to_contain_text("airflow / billing_daily / load")
    assert page.locator(".preview-matches .count").inner_text() == "1 issue matches."

    # Preview with other patterns: a GET that shows, never creates.
    page.get_by_label("Group").fill("billing_*")
    page.get_by_label("Process").fill("nothing*")
    page.get_by_label("Comment (why)").fill("<script>alert(1)</script> known bad rows")
    page.get_by_label("Author (who)").fill("alice")
    page.get_by_role("button", name="Preview").click()
    page.wait_for_url(re.compile(r"/console/silences/new\?.*process=nothing"))
    assert "csrf" not in page.url
    expect(page.locator(".preview-matches")).to_contain_text("No issue matches these patterns now")
    assert api_get(console, "/api/v1/silences", state="all")["items"] == []
    page.get_by_label("Process").fill("lo*")
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_role("table", name="Matching issues")).to_contain_text(fingerprint)

    page.get_by_label("Group").fill("")
    page.get_by_label("Process").fill("")
    page.get_by_label("For (a duration: 30m, 24h, 7d, 1h30m)").fill("2h")
    page.get_by_role("button", name="Create silence").click()
    page.wait_for_url("**/console/silences?done=created&id=*")
    silence_id = created_silence(page)
    row = page.locator(f"#silence-{silence_id}")
    expect(row).to_contain_text(f"fingerprint = {fingerprint}")
    expect(row).to_contain_text("<script>alert(1)</script> known bad rows")  # shown as text, not run
    expect(row).to_contain_text("alice")
    (made,) = api_get(console, "/api/v1/silences")["items"]
    assert made["id"] == silence_id and made["matchers"] == {"fingerprint": fingerprint}
    assert made["status"] == "active" and made["author"] == "alice"

    export_failure(console, "load", exc=ValueError("bad row"), group="billing_daily", run="run-2")
    held = max(dispatched(console, 2).values(), key=lambda f: f["id"])
    assert held["fingerprint"] == fingerprint
    assert (held["silenced"], held["silence_id"]) == (True, silence_id)
    assert len(smtp_sink.received) == 1  # not emailed

    page.goto("/console/silences")
    page.get_by_role("button", name=f"Expire silence {silence_id}").click()
    page.wait_for_url("**/console/silences?done=expired&id=*")
    expect(page.get_by_role("status")).to_have_text(
        f"Silence #{silence_id} expired: matching failures are alerted again.")
    expect(page.locator(f"#silence-{silence_id}")).to_have_count(0)
    assert api_get(console, "/api/v1/silences")["items"] == []
    page.get_by_label("State").select_option("expired")
    page.get_by_role("button", name="Show").click()
    expect(page.locator(f"#silence-{silence_id} .badge")).to_have_text("expired")
    expect(page.get_by_role("button", name=f"Expire silence {silence_id}")).to_have_count(0)

    export_failure(console, "load", exc=ValueError("bad row"), group="billing_daily", run="run-3")
    second = smtp_sink.wait_for(2)[1]
    assert second.message["Subject"] == "[OtelMon] FAILED airflow / billing_daily / load"
    alerted = max(dispatched(console, 3).values(), key=lambda f: f["id"])
    assert alerted["silenced"] is False
    assert errors == []


def post_form(page: Page, path: str, fields: dict[str, str]):
    """A console form sent with the page's session and CSRF token, as the browser sends it."""
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    return page.request.post(path, form={"csrf": csrf, **fields}, max_redirects=0)


GOOD = {"group": "billing_*", "duration": "1h", "ends_at": "", "comment": "migration", "author": "alice"}


INVALID = [
    ({"group": ""}, "at least one matcher is required"),
    ({"duration": "soon"}, "invalid duration 'soon'"),
    ({"ends_at": "2001-01-01T00:00"}, "not both or neither"),
    ({"duration": "", "ends_at": "2001-01-01T00:00"}, "ends_at must be after starts_at"),
    ({"duration": "", "ends_at": "tomorrow"}, "invalid time 'tomorrow'"),
    ({"comment": "   "}, "comment and author must not be blank"),
    ({"process": "a[b"}, "unbalanced [ ]"),
    ({"error_type": "x" * 256}, "longer than 255 characters"),
]


def test_invalid_input_shows_the_form_again_and_creates_nothing(browser, console):
    page = log_in(browser, console, "/console/silences/new")
    for change, message in INVALID:
        answer = post_form(page, "/console/silences", {**GOOD, **change})
        shown = html.unescape(answer.text())
        assert answer.status == 422 and "Not created: " in shown and message in shown, (change, shown)
        assert 'value="alice"' in shown  # what was typed is kept
    assert api_get(console, "/api/v1/silences", state="all")["items"] == []


def test_the_browser_shows_the_message_and_keeps_the_values(browser, console):
    page = log_in(browser, console, "/console/silences/new")
    page.get_by_label("Platform").fill("nifi")
    page.get_by_label("Comment (why)").fill("upgrade")
    page.get_by_label("Author (who)").fill("bob")
    page.get_by_label("For (a duration: 30m, 24h, 7d, 1h30m)").fill("-3h")
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name="Create silence").click()
    assert posted.value.status == 422
    expect(page.get_by_role("alert")).to_have_text(
        "Not created: invalid duration '-3h': expected e.g. 30m, 24h, 7d or 1h30m.")
    expect(page.get_by_label("Platform")).to_have_value("nifi")
    expect(page.get_by_label("Author (who)")).to_have_value("bob")
    assert api_get(console, "/api/v1/silences", state="all")["items"] == []


def test_a_form_without_its_csrf_token_changes_nothing(browser, console):
    page = log_in(browser, console, "/console/silences/new")
    assert post_form(page, "/console/silences", GOOD).status == 303
    (made,) = api_get(console, "/api/v1/silences")["items"]
    forged = page.request.post("/console/silences", form=GOOD, max_redirects=0)
    assert forged.status == 403
    assert page.request.post(f"/console/silences/{made['id']}/expire", form={}, max_redirects=0).status == 403
    assert [s["id"] for s in api_get(console, "/api/v1/silences")["items"]] == [made["id"]]
    page.goto("/console/silences")
    assert post_form(page, f"/console/silences/{made['id']}/expire", {}).status == 303
    again = post_form(page, f"/console/silences/{made['id']}/expire", {})
    assert again.status == 409 and "is already expired" in again.text() and "Nothing was changed." in again.text()
    missing = post_form(page, "/console/silences/999/expire", {})
    assert missing.status == 404 and "Silence 999 does not exist." in missing.text()


def test_silences_are_listed_newest_first_a_page_at_a_time(browser, console):
    made = [httpx.post(f"{console.url}/api/v1/silences", headers=AUTH, timeout=10, json={
        "matchers": {"process": f"step_{n}"}, "for": "1h", "comment": f"c{n}", "author": "alice"}).json()["id"]
        for n in range(3)]
    page = log_in(browser, console, "/console/silences?limit=2")
    rows = page.locator("tbody tr[id^=silence-]")
    expect(rows).to_have_count(2)
    assert [rows.nth(i).get_attribute("id") for i in range(2)] == [f"silence-{made[2]}", f"silence-{made[1]}"]
    page.get_by_role("link", name="Older silences").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("id", f"silence-{made[0]}")
    expect(page.get_by_role("link", name="Older silences")).to_have_count(0)
    for query in ("state=bogus", "limit=0", "before_id=x"):
        answer = page.request.get(f"/console/silences?{query}")
        assert answer.status == 422 and "Not a silence listing" in answer.text()
