"""docs/alert-example.{html,txt} is what the pipeline renders today. The script that makes it goes through
ingest, dispatch and compose, so this also keeps the script working."""

import importlib.util
from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_docs_example_email_matches_what_the_pipeline_renders(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("render_examples", DOCS / "render_examples.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(tmp_path)
    for name in ("alert-example.html", "alert-example.txt"):
        assert (tmp_path / name).read_text(encoding="utf-8") == (DOCS / name).read_text(encoding="utf-8"), (
            f"docs/{name} is stale: run `.venv/bin/python docs/render_examples.py` and retake "
            "docs/alert-example.png (README, section 'Reading the alert emails')"
        )
