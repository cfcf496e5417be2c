"""Console sessions and CSRF tokens, signed with the installation's secret key (itsdangerous).

A session is a signed cookie, not a server-side row: ``{"n": nonce, "a": who}``. ``a`` is empty for a visitor
who has not logged in, else a digest of the ingest token the session was opened with, so that changing
``OTELMON_INGEST_TOKEN`` logs every session out. A visitor gets a session (``a`` empty) on their first page,
login included: the login form is then CSRF-protected like every other form (login CSRF), and logging in
replaces the nonce (no session fixation).

The CSRF token of a form is the session's nonce, signed under another salt (the synchroniser token pattern):
a page on another site can neither read it nor, with ``SameSite=Strict``, send the cookie it belongs to."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeSerializer, URLSafeTimedSerializer

COOKIE = "otelmon_console"
# A working day and a bit; after it the console asks for the token again.
MAX_AGE_SECONDS = 12 * 3600
_SESSION_SALT = "otelmon console session v1"
_CSRF_SALT = "otelmon console csrf v1"


@dataclass(frozen=True)
class Session:
    nonce: str
    who: str  # "" before login; see token_digest

    @property
    def logged_in(self) -> bool:
        return bool(self.who)


def token_digest(secret: bytes, token: str) -> str:
    """What a session records of the token it was opened with: never the token itself."""
    return hmac.new(secret, b"console login|" + token.encode(), hashlib.sha256).hexdigest()[:32]


class Signer:
    """Signs and reads sessions and CSRF tokens with one installation's secret key."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret
        self._sessions = URLSafeTimedSerializer(secret, salt=_SESSION_SALT)
        self._csrf = URLSafeSerializer(secret, salt=_CSRF_SALT)

    def new_session(self, token: str | None = None) -> Session:
        return Session(secrets.token_urlsafe(18), token_digest(self._secret, token) if token else "")

    def dump(self, session: Session) -> str:
        return self._sessions.dumps({"n": session.nonce, "a": session.who})

    def load(self, cookie: str | None) -> Session | None:
        """The session in a cookie, or None when it is missing, forged, malformed or older than MAX_AGE."""
        if not cookie or len(cookie) > 512:
            return None
        try:
            data = self._sessions.loads(cookie, max_age=MAX_AGE_SECONDS)
            nonce, who = data["n"], data["a"]
        except (BadSignature, KeyError, TypeError):
            return None
        if not isinstance(nonce, str) or not isinstance(who, str) or not nonce:
            return None
        return Session(nonce, who)

    def is_current(self, session: Session, token: str | None) -> bool:
        """Logged in with the token configured now (any session when none is: the console is open)."""
        if not token:
            return True
        return session.logged_in and hmac.compare_digest(session.who, token_digest(self._secret, token))

    def csrf_token(self, session: Session) -> str:
        return self._csrf.dumps(session.nonce)

    def csrf_ok(self, session: Session, supplied: str | None) -> bool:
        if not supplied or len(supplied) > 256:
            return False
        try:
            nonce = self._csrf.loads(supplied)
        except BadSignature:
            return False
        return isinstance(nonce, str) and hmac.compare_digest(nonce, session.nonce)
