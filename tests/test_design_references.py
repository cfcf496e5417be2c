"""Code, SQL and tests cite the project's design, docs/design.md, by section name; every cited section exists.

The founding design lives outside the repository: a reference to it (DESIGN.md) would send a reader nowhere.
"""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DESIGN = REPO / "docs" / "design.md"
SOURCES = [p for folder in ("src", "sql", "tests", "airflow", "nifi", "scripts", "benchmarks", "configs")
           for p in (REPO / folder).rglob("*") if p.is_file() and p.suffix in {".py", ".sql", ".sh", ".yaml", ".j2"}
           and p.resolve() != Path(__file__).resolve()]
# docs/design.md then one or more quoted section names, with or without commas
CITATION = re.compile(r'docs/design\.md,?((?:\s*,?\s*"[^"]+")+)')


def headings() -> set[str]:
    return {m.group(1).strip() for m in re.finditer(r"^#{2,4}\s+(?:\d+b?\.\s+)?(.+)$", DESIGN.read_text(), re.M)}


def test_nothing_cites_the_design_outside_the_repository() -> None:
    stale = [str(p.relative_to(REPO)) for p in SOURCES if "DESIGN.md" in p.read_text(errors="ignore")]
    assert stale == []


def test_every_cited_section_exists() -> None:
    known = headings()
    cited = {}
    for path in SOURCES:
        for match in CITATION.finditer(path.read_text(errors="ignore")):
            for section in re.findall(r'"([^"]+)"', match.group(1)):
                cited.setdefault(re.sub(r"\s+", " ", section).strip(), path.relative_to(REPO))
    assert cited, "no citation of docs/design.md found: the pattern no longer matches how the code cites it"
    # A heading may carry a parenthetical the citation leaves out: "OTLP/HTTP receiver (the collector's ...)".
    missing = {section: str(path) for section, path in cited.items()
               if not any(h == section or h.startswith(f"{section} (") for h in known)}
    assert missing == {}
