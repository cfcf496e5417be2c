"""MIME assembly: multipart/alternative, clean headers, stable Message-IDs, a size ceiling."""

from __future__ import annotations

import re
from email import policy
from email.message import EmailMessage
from email.utils import formatdate

MAX_EMAIL_BYTES = 100 * 1024
# RFC 5322 allows 998; folding a subject at 78 leaves a leading space in some readers after unfolding.
_POLICY = policy.SMTP.clone(max_line_length=998)
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")
_SPACES = re.compile(r"\s+")


def clean_header(value: str, limit: int = 200) -> str:
    """One line, no control characters: user data can never add a header or break the subject."""
    text = _SPACES.sub(" ", _CONTROL.sub(" ", value)).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def message_domain(mail_from: str) -> str:
    domain = mail_from.rsplit("@", 1)[-1].strip("<> ") if "@" in mail_from else "otelmon.local"
    return re.sub(r"[^A-Za-z0-9.-]", "", domain) or "otelmon.local"


def stable_message_id(kind: str, key: str | int, mail_from: str) -> str:
    """The same alert or digest always carries the same Message-ID, so a resend is recognisable."""
    return f"<otelmon.{kind}.{key}@{message_domain(mail_from)}>"


def build_message(
    *, subject: str, text: str, html: str, mail_from: str, recipients: list[str], message_id: str,
    headers: dict[str, str] | None = None,
) -> EmailMessage:
    msg = EmailMessage(policy=_POLICY)
    msg["Subject"] = clean_header(subject)
    msg["From"] = mail_from
    msg["To"] = ", ".join(clean_header(r, 320) for r in recipients)
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = message_id
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation auto-replies to alerts
    for name, value in (headers or {}).items():
        msg[name] = clean_header(value)
    msg.set_content(text, cte="quoted-printable")
    msg.add_alternative(html, subtype="html", cte="quoted-printable")
    return msg


def message_size(msg: EmailMessage) -> int:
    return len(msg.as_bytes())
