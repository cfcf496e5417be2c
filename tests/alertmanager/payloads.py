"""Alertmanager webhook bodies (version 4) as its notify/webhook package sends them."""

from __future__ import annotations

STARTS = "2026-11-30T10:00:00.123456789Z"
ENDS = "2026-11-30T10:05:00Z"
GO_ZERO = "0001-01-01T00:00:00Z"


def alert(status: str = "firing", *, name: str = "OtelMonApiDown", job: str | None = "otelmon-api",
          instance: str | None = "otelmon-api:8090", fingerprint: str = "a1b2c3d4e5f60718", starts: str = STARTS,
          ends: str | None = None, summary: str = "The OtelMon API is down",
          description: str = "Prometheus cannot scrape otelmon-api:8090.") -> dict:
    labels = {"alertname": name, "severity": "critical"}
    if job is not None:
        labels["job"] = job
    if instance is not None:
        labels["instance"] = instance
    return {"status": status, "labels": labels,
            "annotations": {"summary": summary, "description": description},
            "startsAt": starts, "endsAt": ends or (ENDS if status == "resolved" else GO_ZERO),
            "generatorURL": "http://prometheus:9090/graph?g0.expr=up%3D%3D0", "fingerprint": fingerprint}


def message(*alerts: dict) -> dict:
    statuses = {a["status"] for a in alerts}
    return {"version": "4", "groupKey": '{}:{alertname="OtelMonApiDown"}', "truncatedAlerts": 0,
            "status": "firing" if "firing" in statuses else "resolved", "receiver": "otelmon",
            "groupLabels": {"alertname": alerts[0]["labels"]["alertname"]},
            "commonLabels": alerts[0]["labels"], "commonAnnotations": alerts[0]["annotations"],
            "externalURL": "http://alertmanager:9093", "alerts": list(alerts)}
