"""Links into Grafana: the trace of a failure, opened in Explore on the Tempo datasource."""

from __future__ import annotations

import json
from urllib.parse import quote

from otelmon.config import Settings


def trace_url(settings: Settings, trace_id: str | None) -> str | None:
    if not trace_id:
        return None
    panes = {
        "otelmon": {
            "datasource": settings.grafana_tempo_uid,
            "queries": [
                {
                    "refId": "A",
                    "datasource": {"type": "tempo", "uid": settings.grafana_tempo_uid},
                    "queryType": "traceql",
                    "query": trace_id,
                }
            ],
            "range": {"from": "now-7d", "to": "now"},
        }
    }
    encoded = quote(json.dumps(panes, separators=(",", ":")), safe="")
    return f"{settings.grafana_url.rstrip('/')}/explore?schemaVersion=1&panes={encoded}&orgId=1"


def dashboard_url(settings: Settings, uid: str) -> str:
    """A provisioned Grafana dashboard (uids are fixed in grafana/dashboards/)."""
    return f"{settings.grafana_url.rstrip('/')}/d/{quote(uid, safe='')}"
