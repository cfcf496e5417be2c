"""Checking a configuration file's keys against the documented keys of the program that reads it.

Tempo, Grafana and Loki (AGPL) are never built or run here, nor is Jaeger (the cold CI budget): their key
lists under tests/stack/schemas/ are derived once from each project's documentation at the pinned version
(each list's header names its source), and a file of ours may only use keys from that list. A misspelled
key is otherwise silently ignored, or stops the service at start, only in a real deployment.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SCHEMAS = Path(__file__).resolve().parent / "schemas"
FREE_FORM = ".*"


@dataclass(frozen=True)
class KeySchema:
    paths: frozenset[str]
    # Maps whose keys the program does not define (OTel receivers, a data source's jsonData, ...).
    free_form: frozenset[str]

    def allows(self, path: str) -> bool:
        if path in self.paths or any(path.startswith(prefix + ".") for prefix in self.free_form):
            return True
        # "<name>" in a listed path stands for any one key of a map whose keys the user names.
        parts = path.split(".")
        return any(len(known) == len(parts) and all(k in ("<name>", p) for k, p in zip(known, parts, strict=True))
                   for known in self._named)

    @property
    def _named(self) -> list[list[str]]:
        return [p.split(".") for p in self.paths if "<name>" in p]


def read_key_file(path: Path) -> dict[str, KeySchema]:
    """The schemas of a key list by ``[section]``; a list without sections is the ``""`` section."""
    sections: dict[str, set[str]] = {"": set()}
    current = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1]
            sections.setdefault(current, set())
            continue
        sections[current].add(line)
    return {
        name: KeySchema(
            paths=frozenset(p for p in lines if not p.endswith(FREE_FORM)),
            free_form=frozenset(p.removesuffix(FREE_FORM) for p in lines if p.endswith(FREE_FORM)),
        )
        for name, lines in sections.items()
        if lines
    }


def key_paths(node: object, prefix: str = "") -> Iterator[str]:
    """Dotted paths of every mapping key; ``[]`` stands for any item of a list."""
    if isinstance(node, dict):
        for key, value in node.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            yield path
            yield from key_paths(value, path)
    elif isinstance(node, list):
        for item in node:
            yield from key_paths(item, prefix + "[]")


def unknown_keys(document: object, schema: KeySchema) -> list[str]:
    return sorted({path for path in key_paths(document) if not schema.allows(path)})


def expand_env_defaults(text: str) -> str:
    """``${VAR:-default}`` -> default and ``${VAR}`` -> "": the file as read with no variable set."""
    return re.sub(r"\$\{\w+(?::-([^}]*))?\}", lambda m: m.group(1) or "", text)


def image_tag(images: list[str], name: str) -> str:
    """The tag of the one image called ``name`` among ``images``."""
    tags = [image.rpartition(":")[2] for image in images if image.rpartition(":")[0] == name]
    assert len(tags) == 1, f"expected one {name} image, found {images}"
    return tags[0]
