"""Nothing imports upward: the API and the CLI are thin shells around the package, and no part of the package
depends on them (alerting, digest, storage, ... never import ``otelmon.api`` or ``otelmon.cli``)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "otelmon"
SHELLS = ("otelmon.api", "otelmon.cli")


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_no_module_below_the_shells_imports_them() -> None:
    upward = {}
    for path in PACKAGE.rglob("*.py"):
        module = ".".join(("otelmon", *path.relative_to(PACKAGE).with_suffix("").parts))
        if module.startswith(SHELLS):
            continue
        bad = sorted(m for m in imported_modules(path) if m.startswith(SHELLS))
        if bad:
            upward[module] = bad
    assert upward == {}
