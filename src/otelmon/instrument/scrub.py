"""Masking of values that look like secrets, applied to log lines before they leave the task.

The idea is Sentry's default data scrubbing: mask by the shape of a value (a password in a URL, a
``password=...`` pair, an ``Authorization`` header, a key of a known format) rather than trust every log line
to be clean. False positives (a ``max_tokens=100`` masked) are the price of not shipping a real secret to an
inbox. Pure functions, no state.
"""

from __future__ import annotations

import re

MASK = "***"

# A whole PEM private key block, or its start up to the end of the text when the END line is missing.
_PRIVATE_KEY = re.compile(
    r"(-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----).*?(?:(-----END [A-Z0-9 ]*PRIVATE KEY-----)|\Z)", re.DOTALL)
# The END line of a block whose BEGIN was cut off: everything before it may be key material.
_ORPHAN_KEY_END = re.compile(r"\A.*?(-----END [A-Z0-9 ]*PRIVATE KEY-----)", re.DOTALL)
# scheme://user:password@host: the password runs to the last "@" before the host (passwords contain "@").
_URL_PASSWORD = re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.\-]{0,30}://[^\s:/@]{0,256}:)[^\s/]{1,256}(?=@)")
_AUTH_HEADER = re.compile(
    r"""(\b(?:proxy-)?authorization["']?\s*[:=]\s*["']?(?:(?:bearer|basic|digest|token|negotiate)\s+)?)"""
    r"""[^\s"',;]+""", re.IGNORECASE)
_BEARER = re.compile(r"(\bbearer\s+)[A-Za-z0-9\-._~+/]+=*", re.IGNORECASE)
# Keys of known formats, masked wherever they appear; the prefix stays, to tell which kind leaked.
_KNOWN_KEYS = (
    (re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"), r"\1" + MASK),
    (re.compile(r"\b(gh[pousr]_)[A-Za-z0-9]{30,}\b"), r"\1" + MASK),
    (re.compile(r"\b(github_pat_)[A-Za-z0-9_]{20,}"), r"\1" + MASK),
    (re.compile(r"\b(xox[baprs]-)[A-Za-z0-9\-]{8,}"), r"\1" + MASK),
    (re.compile(r"\beyJ[A-Za-z0-9_\-]{4,}\.eyJ[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]*"), "eyJ" + MASK),
)
# key=value, key: value, "key": "value" (JSON), 'key': 'value' (a Python dict printed), for any key that
# contains one of these words (db_password, client_secret, X-Api-Key, ...).
# The words Sentry's default scrubbing looks for, and a few forms seen in data jobs (DB_PASS, passphrase).
_WORDS = (r"password|passwd|pwd|pass(?![a-z])|passphrase|token|secret|api[_\-]?key|access[_\-]?key|"
          r"private[_\-]?key|credentials?|cookie|session[_\-]?id|x-amz-signature")
_PAIR_WORD = re.compile(_WORDS, re.IGNORECASE)
# A command line as logged: --password hunter2, or ['mysql', '--password', 'hunter2'] (a list printed).
_FLAG = re.compile(r"""(--?(?:""" + _WORDS + r""")["']?(?:\s+|,\s*["']))[^\s"',\]]{1,256}""", re.IGNORECASE)
_PAIR = re.compile(
    r"""(?P<key>\b[\w.\-]{0,40}?(?:""" + _WORDS + r""")[\w.\-]{0,40}"""
    r"""["']?\s*[:=]\s*)"""
    r"""(?:"(?P<dq>[^"\n]*)"|'(?P<sq>[^'\n]*)'|(?P<bare>[^\s,;&"'}\])]+))""",
    re.IGNORECASE)
# Every repetition above that could run over a long unbroken word is bounded, and the patterns that try
# many starting points run only when a cheap search found what they need, so masking a typical line costs
# a few scans and a hostile one stays linear in its length.


def _private_key(match: re.Match) -> str:
    return f"{match.group(1)}{MASK}{match.group(2) or ''}"


def _pair(match: re.Match) -> str:
    key = match.group("key")
    if match.group("dq") is not None:
        return f'{key}"{MASK}"'
    if match.group("sq") is not None:
        return f"{key}'{MASK}'"
    return f"{key}{MASK}"


def scrub(text: str) -> str:
    """``text`` with every value that looks like a secret replaced by ``***``."""
    if "PRIVATE KEY-----" in text:
        text = _PRIVATE_KEY.sub(_private_key, text)
        orphan = _ORPHAN_KEY_END.match(text)
        if orphan is not None and "-----BEGIN" not in orphan.group(0):
            text = MASK + text[orphan.start(1):]
    if "://" in text:
        text = _URL_PASSWORD.sub(r"\g<1>" + MASK, text)
    text = _AUTH_HEADER.sub(r"\g<1>" + MASK, text)
    text = _BEARER.sub(r"\g<1>" + MASK, text)
    for pattern, replacement in _KNOWN_KEYS:
        text = pattern.sub(replacement, text)
    if not _PAIR_WORD.search(text):
        return text
    return _PAIR.sub(_pair, _FLAG.sub(r"\g<1>" + MASK, text))
