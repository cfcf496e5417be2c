"""Content-Encoding handling with a hard cap on the decompressed size (a gzip bomb is a 413)."""

from __future__ import annotations

import zlib

from otelmon.otlp.errors import MalformedPayload, PayloadTooLarge, UnsupportedMediaType

_GZIP_WBITS = 16 + zlib.MAX_WBITS


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
    data = body
    # A gzip stream may hold several members; each is inflated with what is left of the budget,
    # so the total never exceeds the limit whatever the compression ratio.
    while data:
        inflater = zlib.decompressobj(_GZIP_WBITS)
        try:
            out += inflater.decompress(data, limit - len(out) + 1)
        except zlib.error as exc:
            raise MalformedPayload(f"invalid gzip body: {exc}") from None
        if len(out) > limit or inflater.unconsumed_tail:
            raise PayloadTooLarge(f"decompressed body exceeds the limit of {limit} bytes")
        if not inflater.eof:
            raise MalformedPayload("invalid gzip body: truncated stream")
        data = inflater.unused_data
    return bytes(out)
