from email import message_from_bytes, policy

from otelmon.alerting.routing import recipients_for, recipients_for_many
from otelmon.config import AlertRoute, Settings
from otelmon.email import message
from otelmon.email.message import build_message, clean_header, stable_message_id
from otelmon.email.render import format_duration, format_local, format_utc


def test_clean_header_removes_line_breaks_and_controls_and_caps_length():
    assert clean_header("a\r\nBcc: x@y\t\x00b") == "a Bcc: x@y b"
    assert clean_header("z" * 500) == "z" * 199 + "…"
    assert clean_header("line\u2028sep") == "line sep"


def test_message_is_multipart_alternative_with_crlf_and_utf8_subject():
    email = build_message(subject="[OtelMon] FAILED airflow / Lösung / ëtl\nX-Evil: 1", text="plain ✓",
                          html="<p>html ✓</p>", mail_from="OtelMon <otelmon@example.com>",
                          recipients=["a@example.com", "B <b@example.com>"],
                          message_id=stable_message_id("alert", 7, "otelmon@example.com", "0123abcd"))
    assert b"\r\n" in email.data and b"\nX-Evil" not in email.data
    parsed = message_from_bytes(email.data, policy=policy.default)
    assert parsed["Subject"] == "[OtelMon] FAILED airflow / Lösung / ëtl X-Evil: 1"
    assert parsed["X-Evil"] is None
    assert parsed.get_content_type() == "multipart/alternative"
    assert parsed.get_body(("plain",)).get_content().strip() == "plain ✓"
    assert parsed.get_body(("html",)).get_content().strip() == "<p>html ✓</p>"
    assert email.mail_from == "otelmon@example.com"
    assert email.recipients == ["a@example.com", "b@example.com"]
    assert parsed["Message-ID"] == "<otelmon.alert.7.0123abcd@example.com>" == email.message_id


def test_parts_that_contain_the_boundary_come_back_whole(monkeypatch):
    # User data quoting the boundary (an error message can hold anything) must not end a part early.
    # The boundary is random per message; fix it so the data can hold exactly this one.
    monkeypatch.setattr(message, "_boundary", lambda: "=_otelmon_fixed")
    hostile = "before\n--=_otelmon_fixed\nContent-Type: text/html\n\n<script>x</script>\n--=_otelmon_fixed--\nafter"
    email = build_message(subject="s", text=hostile, html=f"<pre>{hostile}</pre>", mail_from="a@example.com",
                          recipients=["b@example.com"], message_id="<2@example.com>")
    parsed = message_from_bytes(email.data, policy=policy.default)
    assert parsed.get_boundary() == "=_otelmon_fixed"
    assert len(list(parsed.iter_parts())) == 2
    assert parsed.get_body(("plain",)).get_content().replace("\r\n", "\n") == hostile
    assert parsed.get_body(("html",)).get_content().replace("\r\n", "\n") == f"<pre>{hostile}</pre>"


def test_routes_first_match_else_default():
    settings = Settings(alert_recipients=["team@example.com"], alert_routes=[
        AlertRoute(match="airflow/billing_*", to=["billing@example.com"]),
        AlertRoute(match="*/billing_*", to=["other@example.com"]),
    ])
    assert recipients_for(settings, "airflow", "billing_daily") == ["billing@example.com"]
    assert recipients_for(settings, "nifi", "billing_x") == ["other@example.com"]
    assert recipients_for(settings, "airflow", "sales") == ["team@example.com"]
    assert recipients_for_many(settings, [("airflow", "billing_a"), ("airflow", "sales"), ("airflow", "billing_b")]) \
        == ["billing@example.com", "team@example.com"]


def test_settings_accept_the_seed_smtp_names_and_comma_lists(monkeypatch):
    monkeypatch.setenv("SMTP_USER", "seed-user")
    monkeypatch.setenv("SMTP_MAIL_FROM", "seed@example.com")
    monkeypatch.setenv("OTELMON_ALERT_RECIPIENTS", "a@example.com; b@example.com,")
    monkeypatch.setenv("OTELMON_SMTP_PORT", "587")
    monkeypatch.setenv("OTELMON_SMTP_HOST", "")  # compose passes unset variables as empty strings
    settings = Settings()
    assert (settings.smtp_user, settings.smtp_mail_from) == ("seed-user", "seed@example.com")
    assert settings.alert_recipients == ["a@example.com", "b@example.com"]
    assert settings.smtp_mode == "starttls" and settings.smtp_host == "localhost"
    monkeypatch.setenv("OTELMON_SMTP_USER", "new-user")
    assert Settings().smtp_user == "new-user"


def test_time_and_duration_formats():
    from datetime import datetime

    moment = datetime(2026, 7, 1, 12, 0, 0, 123456)
    assert format_utc(moment) == "2026-07-01 12:00:00.123 UTC"
    assert format_local(moment, "Europe/Berlin") == "2026-07-01 14:00:00 CEST"
    assert format_local(moment, "UTC") == ""
    assert [format_duration(s) for s in (0.25, 4.04, 74.3, 7322)] == ["250 ms", "4.0 s", "1 min 14 s", "2 h 02 min"]


def test_a_library_changing_the_process_wide_utf8_charset_does_not_change_our_headers(monkeypatch):
    # Apprise registers quoted-printable for "utf-8" on import; its folded Q-encoded subjects broke the
    # 998-character line limit of long CJK subjects.
    from email import charset

    monkeypatch.setitem(charset.CHARSETS, "utf-8", charset.CHARSETS["utf-8"])
    charset.add_charset("utf-8", charset.QP, charset.QP, "utf-8")
    built = build_message(subject="失败" * 120, text="x", html="<p>x</p>", mail_from="o@example.com",
                          recipients=["t@example.com"], message_id="<a@b>")
    assert all(len(line) <= 998 for line in built.data.split(b"\r\n"))
    assert b"=?utf-8?b?" in built.data
