"""Links out of OtelMon: a failure's trace in Grafana (Explore on the Tempo datasource), its task try in
Airflow, its processor in NiFi; and into the console, for the alerts."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode

from otelmon.config import Settings
from otelmon.failures import attributes as k
from otelmon.failures.values import as_int, as_text

# How ingest names a mapped Airflow task instance when only the otelmon.* keys are there: "task[3]".
_MAPPED_TASK = re.compile(r"^(?P<task>.+)\[(?P<index>\d+)\]$")


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


def console_failure_url(settings: Settings, failure_id: int) -> str:
    """A failure's page in the console, on the address people reach this API at."""
    return f"{settings.public_url}/console/failures/{int(failure_id)}"


def _segment(value: str) -> str:
    return quote(value, safe="")  # a "/" in a run id is part of the id, not a path step


def airflow_task_url(settings: Settings, failure: Mapping[str, Any]) -> str | None:
    """The failure's task try in the Airflow UI (Airflow 3: ``/dags/<dag>/runs/<run>/tasks/<task>``, with
    ``/mapped/<index>`` for a mapped instance and ``?try_number=``), or None when it is not an Airflow task
    with a run id. ``failure``: ``row_to_dict(full=True)``; Airflow's own keys on the span win over the
    otelmon.* identity (a trace_log group or process may be renamed)."""
    span = _span_attributes(failure)
    dag_id = as_text(span.get(k.AIRFLOW_DAG_ID))
    task_id = as_text(span.get(k.AIRFLOW_TASK_ID))
    run_id = as_text(span.get(k.AIRFLOW_RUN_ID)) or failure.get("run_id")
    map_index = as_int(span.get(k.AIRFLOW_MAP_INDEX))
    if dag_id is None or task_id is None:
        if failure.get("platform") != "airflow":
            return None
        dag_id, task_id = failure.get("group"), failure.get("process")
        mapped = _MAPPED_TASK.match(task_id or "")
        if mapped:
            task_id, map_index = mapped["task"], int(mapped["index"])
    if not dag_id or not task_id or not run_id:
        return None
    url = f"{settings.airflow_url}/dags/{_segment(dag_id)}/runs/{_segment(run_id)}/tasks/{_segment(task_id)}"
    if map_index is not None and map_index >= 0:
        url += f"/mapped/{map_index}"
    try_number = failure.get("try_number")
    if isinstance(try_number, int) and try_number > 0:
        url += f"?try_number={try_number}"
    return url


def nifi_processor_url(settings: Settings, failure: Mapping[str, Any]) -> str | None:
    """The failure's processor selected on the NiFi canvas (``?processGroupId=&componentIds=``, NiFi's
    component links), when its span names the processor's id; a name alone cannot be linked to."""
    span = _span_attributes(failure)
    processor = as_text(span.get(k.NIFI_PROCESSOR_ID))
    if processor is None:
        return None
    group = as_text(span.get(k.NIFI_PROCESS_GROUP_ID))
    query = {"processGroupId": group} if group else {}
    return f"{settings.nifi_url}/?{urlencode({**query, 'componentIds': processor}, quote_via=quote)}"


def _span_attributes(failure: Mapping[str, Any]) -> Mapping[str, Any]:
    stored = failure.get("attributes")
    span = stored.get("span") if isinstance(stored, Mapping) else None
    return span if isinstance(span, Mapping) else {}
