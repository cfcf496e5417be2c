"""MIME assembly: multipart/alternative, clean headers, stable Message-IDs, a size ceiling.

The ceiling is measured on the bytes handed to the SMTP client (``OutgoingEmail.size``), transfer
encodings and CRLFs included: what the server receives, byte for byte. Everything stays 7-bit, so a
server without 8BITMIME takes it too.

Built with the compat32 MIME classes and serialised once: the modern ``EmailMessage`` header registry
costs ~4 ms a message, too much at 100 alerts a second. Every header value passes ``clean_header``
first, so the stricter parsing is not what keeps user data out of the headers.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from email import charset, policy
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formatdate, parseaddr

from otelmon.text import clip

MAX_EMAIL_BYTES = 100 * 1024
# CRLF for SMTP; 998 is RFC 5322's line limit (folding a subject at 78 leaves a stray leading space
# in some readers after unfolding).
_POLICY = policy.compat32.clone(linesep="\r\n", max_line_length=998)
_UTF8_QP = charset.Charset("utf-8")
_UTF8_QP.body_encoding = charset.QP  # readable in raw form and ~25 % smaller than base64 for markup
# Quoted-printable writes each non-ASCII byte as three (a CJK character as nine); base64 grows
# everything by a third. A part with much non-ASCII text is smaller in base64.
_UTF8_BASE64 = charset.Charset("utf-8")
_UTF8_BASE64.body_encoding = charset.BASE64
# Headers as RFC 2047 "B" words. Set here, not left to the registry's default for "utf-8": a library that
# calls ``email.charset.add_charset("utf-8", ...)`` (Apprise does, on import) changes that default for the
# whole process, and its quoted-printable headers folded past the 998-character line limit.
_UTF8_HEADER = charset.Charset("utf-8")
_UTF8_HEADER.header_encoding = charset.BASE64
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")
_SPACES = re.compile(r"\s+")


def clean_header(value: str, limit: int = 200) -> str:
    """One line, no control characters: user data can never add a header or break the subject."""
    return clip(_SPACES.sub(" ", _CONTROL.sub(" ", value)).strip(), limit)


def message_domain(mail_from: str) -> str:
    domain = mail_from.rsplit("@", 1)[-1].strip("<> ") if "@" in mail_from else "otelmon.local"
    return re.sub(r"[^A-Za-z0-9.-]", "", domain) or "otelmon.local"


def stable_message_id(kind: str, key: str | int, mail_from: str, installation: str) -> str:
    """The same alert or digest always carries the same Message-ID, so a resend is recognisable; the
    installation id (``storage.installation``) keeps two databases from ever sending the same one."""
    return f"<otelmon.{kind}.{key}.{installation}@{message_domain(mail_from)}>"


@dataclass(frozen=True)
class OutgoingEmail:
    """A serialised message with its envelope: what is size-checked is exactly what is sent."""

    mail_from: str
    recipients: list[str]
    subject: str
    message_id: str
    data: bytes

    @property
    def size(self) -> int:
        """Bytes on the wire: ``data`` is sent unchanged (aiosmtplib only dot-stuffs it in transit)."""
        return len(self.data)

    @property
    def fits(self) -> bool:
        """Within the ceiling: the one test every composer applies."""
        return self.size <= MAX_EMAIL_BYTES


def _boundary() -> str:
    """A boundary that cannot occur in the parts: quoted-printable writes every "=" as "=3D", and base64
    has "=" only as padding at the end of a line, so no encoded line contains "=_". Chosen here, the
    generator need not search the parts for a free one (a regex compiled per message, a third of the cost
    of building it)."""
    return f"=_otelmon_{secrets.token_hex(12)}"


def _body_charset(body: str) -> charset.Charset:
    """The smaller transfer encoding for this part, estimated without encoding it twice."""
    raw = body.encode("utf-8")
    escaped = len(raw) - len(raw.decode("ascii", "ignore")) + raw.count(b"=")
    return _UTF8_BASE64 if 4 * len(raw) < 3 * (len(raw) + 2 * escaped) else _UTF8_QP


def _header(value: str) -> str | Header:
    return value if value.isascii() else Header(value, _UTF8_HEADER)


def build_message(
    *, subject: str, text: str, html: str, mail_from: str, recipients: list[str], message_id: str,
    headers: dict[str, str] | None = None,
) -> OutgoingEmail:
    subject = clean_header(subject)
    addresses = [clean_header(r, 320) for r in recipients]
    msg = MIMEMultipart("alternative", boundary=_boundary())
    msg["Subject"] = _header(subject)
    msg["From"] = _header(clean_header(mail_from, 320))
    msg["To"] = _header(", ".join(addresses))
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = clean_header(message_id, 320)
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation auto-replies to alerts
    for name, value in (headers or {}).items():
        msg[name] = _header(clean_header(value))
    msg.attach(MIMEText(text, "plain", _body_charset(text)))
    msg.attach(MIMEText(html, "html", _body_charset(html)))
    return OutgoingEmail(
        mail_from=parseaddr(clean_header(mail_from, 320))[1],
        recipients=[parseaddr(a)[1] for a in addresses],
        subject=subject,
        message_id=msg["Message-ID"],
        data=msg.as_bytes(policy=_POLICY),
    )
