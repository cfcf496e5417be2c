"""Access to the console: the ingest token opens a session cookie (HttpOnly, SameSite=Strict); without a token
configured the console is open, as the API is; logging out ends the session."""

from __future__ import annotations

import httpx
import pytest

from tests.console.conftest import TOKEN, log_in

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def test_a_browser_logs_in_with_the_token_and_out_again(browser, console):
    context = browser.new_context(base_url=console.url)
    page = context.new_page()
    page.goto("/console/")
    assert page.url.endswith("/console/login?next=%2Fconsole%2F")
    page.get_by_label("Token").fill("not-the-token")
    page.get_by_role("button", name="Log in").click()
    assert "not this OtelMon's token" in page.get_by_role("alert").inner_text()
    page.get_by_label("Token").fill(TOKEN)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/console/")
    (cookie,) = [c for c in context.cookies() if c["name"] == "otelmon_console"]
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict" and cookie["path"] == "/"
    assert TOKEN not in cookie["value"]
    assert page.evaluate("document.cookie") == ""  # not readable by a script on the page
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/console/login")
    page.goto("/console/")
    assert "/console/login" in page.url


def test_a_session_ends_when_the_token_changes(browser, start_api, console_env):
    first = start_api(console_env)
    page = log_in(browser, first)
    first.stop()
    second = start_api({**console_env, "OTELMON_INGEST_TOKEN": "a-new-token"})
    cookies = page.context.cookies()
    fresh = browser.new_context(base_url=second.url)
    fresh.add_cookies([{**c, "domain": "127.0.0.1"} for c in cookies])
    again = fresh.new_page()
    again.goto("/console/")
    assert "/console/login" in again.url


def test_without_a_token_the_console_is_open(browser, start_api, console_env):
    env = {k: v for k, v in console_env.items() if k != "OTELMON_INGEST_TOKEN"}
    api = start_api(env)
    page = browser.new_context(base_url=api.url).new_page()
    page.goto("/")
    assert page.url.endswith("/console/")
    assert page.get_by_role("button", name="Log out").count() == 0


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/api/v1/failures", "/\\evil"])
def test_login_never_redirects_off_the_console(console, target):
    with httpx.Client(base_url=console.url) as client:
        form = client.get("/console/login")
        csrf = form.text.split('name="csrf" value="')[1].split('"')[0]
        answer = client.post("/console/login", data={"csrf": csrf, "next": target, "token": TOKEN})
    assert answer.status_code == 303 and answer.headers["location"] == "/console/"


def test_the_login_form_itself_needs_its_csrf_token(console):
    with httpx.Client(base_url=console.url) as client:
        client.get("/console/login")
        answer = client.post("/console/login", data={"token": TOKEN, "next": "/console/"})
        assert answer.status_code == 403 and "otelmon_console" not in answer.headers.get("set-cookie", "")
        assert client.get("/console/").status_code == 303  # still not logged in


def test_a_link_from_another_site_opens_the_page_for_a_logged_in_browser(browser, console):
    """SameSite=Strict withholds the cookie on a link followed from another site (webmail, Slack); the console
    navigates once more, same-origin, so a logged-in person lands on the page, not on the login form."""
    page = log_in(browser, console)
    other_site = console.url.replace("127.0.0.1", "localhost")  # another site for the browser
    page.goto(f"{other_site}/console/login")  # any page served from the other site
    target = f"{console.url}/console/?from=alert"
    page.evaluate("t => { const a = document.createElement('a'); a.href = t; a.id = 'away'; a.textContent = 'open';"
                  " document.body.appendChild(a); }", target)
    with page.expect_navigation(url=target):
        page.click("#away")
    page.get_by_role("button", name="Log out").wait_for()  # after the console's own same-origin reload
    assert page.url == target
    stranger = browser.new_context().new_page()
    stranger.goto(f"{other_site}/console/login")
    stranger.evaluate("t => { const a = document.createElement('a'); a.href = t; a.id = 'away'; a.textContent = 'open';"
                      " document.body.appendChild(a); }", target)
    stranger.click("#away")
    stranger.wait_for_url("**/console/login?next=*")
