"""docs/digest-example.html is what the templates render today (regenerate it, and its PNG, when they change)."""

from __future__ import annotations

from tests.digest.example import DOCS_HTML, compose


def test_docs_example_matches_the_templates():
    composed = compose()
    assert composed.context["not_listed"] == 4  # the example shows the row limit at work
    assert DOCS_HTML.read_text(encoding="utf-8") == composed.html, (
        "docs/digest-example.html is stale: run `.venv/bin/python -m tests.digest.example` and retake "
        "docs/digest-example.png (README, section 'The daily digest')"
    )
