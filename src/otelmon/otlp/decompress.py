"""Content-Encoding handling with a hard cap on the decompressed size (a gzip bomb is a 413)."""

from __future__ import annotations

import zlib

from otelmon.otlp.errors import MalformedPayload, PayloadTooLarge, UnsupportedMediaType

_GZIP_WBITS = 16 + zlib.MAX_WBITS
# Bytes fed to zlib at once: small enough that a tiny member copies little of what follows it, growing
# so that a large member costs few calls.
_FIRST_SLICE = 512
_MAX_SLICE = 1024 * 1024


def decode_content(body: bytes, content_encoding: str | None, limit: int) -> bytes:
    encoding = (content_encoding or "identity").strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding == "gzip":
        return _gunzip(body, limit)
    # OTLP/HTTP defines gzip only; guessing at others would hide a misconfigured client.
    raise UnsupportedMediaType(f"unsupported Content-Encoding {content_encoding!r}; use gzip or none")


def _gunzip(body: bytes, limit: int) -> bytes:
    out = bytearray()
    view = memoryview(body)
    position = 0
    # A gzip stream may hold several members; each is inflated with what is left of the budget, so the
    # total never exceeds the limit whatever the compression ratio. A member is fed in growing slices
    # rather than "everything left": zlib copies what follows a member's end (``unused_data``), and
    # copying the rest of the body once per member made many small members quadratic.
    while position < len(view):
        inflater = zlib.decompressobj(_GZIP_WBITS)
        step = _FIRST_SLICE
        while not inflater.eof:
            if position >= len(view):
                raise MalformedPayload("invalid gzip body: truncated stream")
            piece = view[position : position + step]
            try:
                out += inflater.decompress(piece, limit - len(out) + 1)
            except zlib.error as exc:
                raise MalformedPayload(f"invalid gzip body: {exc}") from None
            if len(out) > limit or inflater.unconsumed_tail:
                raise PayloadTooLarge(f"decompressed body exceeds the limit of {limit} bytes")
            position += len(piece) - len(inflater.unused_data)
            step = min(step * 2, _MAX_SLICE)
    return bytes(out)
