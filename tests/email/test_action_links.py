"""The alert email's action links (mute 24 h, acknowledge): under the trace link in both parts, their URLs intact
whatever characters they hold, and absent where they make no sense (a recovery, a summary, an alert signed
without them)."""

from __future__ import annotations

from email import message_from_bytes, policy
from html.parser import HTMLParser

import pytest

from otelmon.alerting.notify.base import AlertView, NotifyContext
from otelmon.alerting.notify.email import Config, EmailNotifier
from otelmon.config import Settings
from tests.alerting.notify import views

MUTE_TEXT, ACK_TEXT = "Mute this failure for 24 h", "Acknowledge until resolved"


class Anchors(HTMLParser):
    """Every ``<a>``'s text and ``href`` (attribute entities decoded, as a mail client reads them)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, str]] = []
        self._href: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._href, self._text = dict(attrs).get("href") or "", []

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._href is not None:
            self.found.append((" ".join("".join(self._text).split()), self._href))
            self._href = None


def rendered(view: AlertView) -> tuple[str, str, list[tuple[str, str]]]:
    """The plain part, the HTML part and the HTML's links of the email ``view`` becomes."""
    notifier = EmailNotifier(Config(to=["team@example.com"]), NotifyContext(Settings(), http=None))  # type: ignore[arg-type]
    email = notifier.render(view, None)
    assert email.fits
    parsed = message_from_bytes(email.data, policy=policy.default)
    plain, html = (parsed.get_body((kind,)).get_content().replace("\r\n", "\n") for kind in ("plain", "html"))
    parser = Anchors()
    parser.feed(html)
    return plain, html, parser.found


def test_an_alert_lists_both_links_under_the_trace_link() -> None:
    plain, _, anchors = rendered(views.ordinary())
    assert anchors[:3] == [("Open the trace in Grafana", views.TRACE), (MUTE_TEXT, views.MUTE),
                           (ACK_TEXT, views.ACK)]
    assert plain.index(views.TRACE) < plain.index(f"{MUTE_TEXT} (asks you to confirm first):\n{views.MUTE}\n")
    assert plain.index(views.MUTE) < plain.index(f"{ACK_TEXT} (asks you to confirm first):\n{views.ACK}\n")
    assert plain.index(views.ACK) < plain.index("Stack trace")


def test_markup_characters_in_a_link_neither_break_the_html_nor_change_the_url() -> None:
    plain, html, anchors = rendered(views.markup_links())
    mute, ack = f"{views.MARKUP_SENT}/mute?x=1&y=2", f"{views.MARKUP_SENT}/ack"
    assert (MUTE_TEXT, mute) in anchors and (ACK_TEXT, ack) in anchors
    assert "/mute?x=1&amp;y=2" in html and 'd"e' not in html and "b<c" not in html
    assert f"\n{mute}\n" in plain and f"\n{ack}\n" in plain


@pytest.mark.parametrize("view", [views.without_actions(), views.resolved(), views.summary()],
                         ids=["no-actions", "recovery", "summary"])
def test_no_action_links_where_they_make_no_sense(view: AlertView) -> None:
    plain, html, anchors = rendered(view)
    for part in (plain, html):
        assert MUTE_TEXT not in part and ACK_TEXT not in part and "otelmon.example.com/actions" not in part
    assert anchors  # the trace or dashboard link is still there
