"""Which spans are task-level: the outermost span of one task try (docs/design.md, "Pipeline runs, issues and
the alert policy"). The collector's ``filter/failures_and_runs`` (configs/otelcol.yaml) writes the same rule in
OTTL; both look at the span's own attributes only, since a resource attribute is shared by every span of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from otelmon.failures import attributes as k

# Any of these on a span may make it task-level; a span with none of them is dropped without decoding.
KEYS = frozenset({k.PROCESS, k.AIRFLOW_TASK_ID, *k.NIFI_PROCESSOR})


def is_task_span(attributes: Mapping[str, Any]) -> bool:
    """OtelMon's own try span (``otelmon.process``, not a step inside the try), Airflow's native task span, or
    a NiFi processor's."""
    if attributes.get(k.STEP) is not None:
        return False
    if attributes.get(k.PROCESS) is not None:
        return True
    if attributes.get(k.AIRFLOW_TASK_ID) is not None and attributes.get(k.AIRFLOW_DAG_ID) is not None:
        return True
    return any(attributes.get(key) is not None for key in k.NIFI_PROCESSOR)
