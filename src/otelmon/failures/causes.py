"""The steps a failure's exception passed through, as our instrumentation lists them on the failing span
(``otelmon.cause.*``, see ``otelmon.instrument.owner``): the failure's causes, stored with its attributes."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from otelmon.failures import attributes as k
from otelmon.failures.values import as_text


@dataclass(frozen=True, slots=True)
class StepCause:
    step: str
    error_type: str | None
    error_message: str | None


def step_causes(stored_attributes: str | dict[str, Any] | None) -> list[StepCause]:
    """The causes in a failure's stored attributes (the ``attributes`` column, JSON or already decoded)."""
    if isinstance(stored_attributes, str):
        try:
            stored_attributes = json.loads(stored_attributes)
        except ValueError:
            return []
    if not isinstance(stored_attributes, dict):
        return []
    span = stored_attributes.get("span")
    if not isinstance(span, dict):
        return []
    steps, types, messages = (_list(span.get(key)) for key in (k.CAUSE_STEPS, k.CAUSE_TYPES, k.CAUSE_MESSAGES))
    return [
        StepCause(str(step), as_text(_at(types, i)), as_text(_at(messages, i)))
        for i, step in enumerate(steps) if as_text(step) is not None
    ]


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _at(values: list, index: int) -> Any:
    return values[index] if index < len(values) else None
