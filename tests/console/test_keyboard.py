"""The main flows with the keyboard alone (WCAG 2.1.1): log in, reach a failure from the issues list,
acknowledge it, silence a step and expire the silence. Only Tab, Shift+Tab, Enter, Space and typing; every
focused control shows a visible focus ring."""

from __future__ import annotations

import pytest

from tests.console.conftest import TOKEN, api_get, export_failure

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

MAX_TABS = 80


def focused(page) -> dict:
    return page.evaluate("""() => { const e = document.activeElement; const s = getComputedStyle(e);
        return {tag: e.tagName.toLowerCase(), text: (e.innerText || e.value || '').trim(),
                label: e.getAttribute('aria-label') || (e.labels && e.labels[0] ? e.labels[0].innerText : ''),
                outline: s.outlineStyle, width: s.outlineWidth}; }""")


def tab_to(page, text: str) -> dict:
    """Press Tab until the focused element's text or label starts with ``text``; fail after MAX_TABS."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        now = focused(page)
        if now["text"].startswith(text) or now["label"].startswith(text):
            assert now["outline"] != "none" and now["width"] != "0px", f"no visible focus on {now}"
            return now
    raise AssertionError(f"{text!r} not reachable with Tab on {page.url}")


def test_the_main_flows_work_with_the_keyboard_alone(browser, console):
    export_failure(console, "load_orders", exc=ConnectionError("warehouse refused the connection"))
    page = browser.new_context(base_url=console.url).new_page()
    page.goto("/console/")
    assert focused(page)["label"].startswith("Token")  # the login form's field has the focus
    page.keyboard.type(TOKEN)
    page.keyboard.press("Enter")
    page.wait_for_url("**/console/")

    # The first Tab offers to skip the navigation; Enter moves the focus to the page's content.
    page.keyboard.press("Tab")
    assert focused(page)["text"] == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"

    page.keyboard.press("Shift+Tab")  # back into the navigation, from the content
    tab_to(page, "Issues")
    page.keyboard.press("Enter")
    page.wait_for_url("**/console/issues")
    tab_to(page, "airflow / daily_sales / load_orders")
    page.keyboard.press("Enter")
    page.wait_for_url("**/console/issues/*")

    tab_to(page, "Your name")
    page.keyboard.type("maria")
    tab_to(page, "Acknowledge")
    page.keyboard.press("Enter")
    page.get_by_role("status").wait_for()
    assert [s["kind"] for s in api_get(console, "/api/v1/silences")["items"]] == ["ack"]

    tab_to(page, "Silence…")
    page.keyboard.press("Enter")
    page.wait_for_url("**/console/silences/new?*")
    tab_to(page, "Comment")
    page.keyboard.type("warehouse maintenance")
    tab_to(page, "Author")
    page.keyboard.type("maria")
    tab_to(page, "Create silence")
    page.keyboard.press("Space")
    page.wait_for_url("**/console/silences?*")
    kinds = sorted(s["kind"] for s in api_get(console, "/api/v1/silences")["items"])
    assert kinds == ["ack", "silence"]

    silence = next(s for s in api_get(console, "/api/v1/silences")["items"] if s["kind"] == "silence")
    tab_to(page, f"Expire silence {silence['id']}")
    page.keyboard.press("Enter")
    page.get_by_role("status").wait_for()
    states = {s["id"]: s["status"] for s in api_get(console, "/api/v1/silences", state="all")["items"]}
    assert states[silence["id"]] == "expired"
