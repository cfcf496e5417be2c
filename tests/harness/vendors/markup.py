"""The HTML subsets chat vendors parse (Telegram's HTML style, Google Chat's card text): what a reader sees,
or ValueError where the vendor would refuse the text or show markup it was not meant to."""

from __future__ import annotations

import html
import re

ENTITY = re.compile(r"&(?:lt|gt|amp|quot|#[0-9]+|#x[0-9a-fA-F]+);")
ATTRIBUTES = {"a": re.compile(r' href="[^"<>]*"'), "font": re.compile(r' color="#[0-9a-fA-F]{6}"')}


def visible_text(text: str, tags: tuple[str, ...], void: tuple[str, ...] = (), newline: str | None = None) -> str:
    """``text`` as shown: tags removed (``newline`` tags, e.g. ``br``, become a line break), entities decoded.
    Only ``tags`` (and ``void`` tags, which have no end) may appear, balanced; a bare ``<``, ``>`` or ``&`` is
    an error."""
    pattern = re.compile(r"<(/?)(" + "|".join(tags + void) + r")((?: [^<>]*)?)>")
    stack: list[str] = []
    plain, position = [], 0
    for match in pattern.finditer(text):
        plain.append(text[position:match.start()])
        position = match.end()
        closing, name, attributes = match.groups()
        expected = ATTRIBUTES.get(name)
        if closing:
            if name in void or not stack or stack.pop() != name or attributes:
                raise ValueError(f"unexpected end tag </{name}> at {match.start()}")
        elif (expected.fullmatch(attributes) is None) if expected else attributes:
            raise ValueError(f"bad attributes on <{name}> at {match.start()}")
        elif name in void:
            plain.append("\n" if name == newline else "")
        else:
            stack.append(name)
    plain.append(text[position:])
    if stack:
        raise ValueError(f"unclosed tags {stack}")
    joined = "".join(plain)
    if "<" in joined or ">" in joined:
        raise ValueError("a bare < or > outside a supported tag")
    if ENTITY.sub("", joined).count("&"):
        raise ValueError("a bare & that is no entity")
    return html.unescape(joined)
