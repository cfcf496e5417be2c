"""Render the Teams notifier's Adaptive Card for the sample alert with Microsoft's own renderer, in Chromium.

    mkdir -p /tmp/ac && (cd /tmp/ac && npm install adaptivecards@3.0.6 markdown-it@14)
    PYTHONPATH=$PWD .venv/bin/python docs/render_teams_card.py /tmp/ac      # writes /tmp/ac/card.html
    chromium --headless --hide-scrollbars --allow-file-access-from-files --window-size=600,585 \\
        --screenshot=docs/teams-card-example.png file:///tmp/ac/card.html

Not part of the tests (it needs npm packages); the card itself is checked against the published schema by
tests/alerting/notify/test_msteams.py.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from otelmon.alerting.notify import msteams
from otelmon.alerting.notify.base import NotifyContext
from otelmon.config import Settings
from tests.alerting.notify import views

PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8">
<link rel="stylesheet" href="node_modules/adaptivecards/dist/adaptivecards.css">
<script src="node_modules/markdown-it/dist/markdown-it.min.js"></script>
<script src="node_modules/adaptivecards/dist/adaptivecards.js"></script>
<style>body{background:#f5f5f5;font-family:"Segoe UI",Arial,sans-serif;margin:0;padding:16px}
#c{width:560px;background:#fff;border-radius:6px;box-shadow:0 1px 3px rgba(0,0,0,.2)}</style>
</head><body><div id="c"></div><script>
AdaptiveCards.AdaptiveCard.onProcessMarkdown = function (text, result) {
  result.outputHtml = markdownit().render(text); result.didProcess = true; };
var card = new AdaptiveCards.AdaptiveCard();
card.parse(CARD);
document.getElementById("c").appendChild(card.render());
</script></body></html>
"""


def main(folder: str) -> None:
    context = NotifyContext(settings=Settings(), http=None)  # type: ignore[arg-type] - render only
    notifier = msteams.build(msteams.Config(webhook_url="https://example.invalid/flow"), context, "data-team")
    card = notifier.render(views.ordinary(), None)["attachments"][0]["content"]
    (Path(folder) / "card.html").write_text(PAGE.replace("CARD", json.dumps(card)), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1])
