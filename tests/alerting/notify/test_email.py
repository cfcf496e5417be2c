"""The email notifier's issue line: the same sentence as every other channel, in both parts of the alert."""

from __future__ import annotations

import html
from email import message_from_bytes, policy

from otelmon.alerting.notify import email
from otelmon.alerting.notify.base import AlertView, NotifyContext
from otelmon.config import Settings
from tests.alerting.notify import views


def parts(view: AlertView) -> tuple[str, str, str]:
    notifier = email.EmailNotifier(email.Config(to=["team@example.com"]),
                                   NotifyContext(Settings(smtp_mail_from="otelmon@example.com"), None))  # type: ignore[arg-type]
    message = message_from_bytes(notifier.render(view, None).data, policy=policy.default)
    return (str(message["Subject"]), message.get_body(("plain",)).get_content(),
            message.get_body(("html",)).get_content())


def test_the_issue_line_follows_the_title_in_text_and_html() -> None:
    subject, text, page = parts(views.ordinary())
    assert text.splitlines()[:2] == ["FAILED: airflow / billing_daily / load_invoices", views.ONGOING_LINE]
    assert f">{views.ONGOING_LINE}</div>" in page

    subject, text, page = parts(views.in_paris(views.regressed()))
    assert subject.startswith("[OtelMon] REGRESSED")
    assert text.splitlines()[:2] == ["REGRESSED: airflow / billing_daily / load_invoices",
                                     "Regressed: this error had recovered and is back; seen 10 times since "
                                     "2026-11-20 06:00:00.250 UTC (2026-11-20 07:00:00 CET)."]
    assert html.escape(text.splitlines()[1], quote=False) in page


def test_no_issue_line_without_an_issue() -> None:
    _, text, page = parts(views.without_issue())
    assert text.splitlines()[:3] == ["FAILED: airflow / billing_daily / load_invoices", "",
                                     "Failed 3 more times since the last alert for this error (not emailed: "
                                     "repeat interval)."]
    assert "times since 2026" not in text and "times since 2026" not in page
