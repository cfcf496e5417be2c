"""Alertmanager's webhook body (``webhook_configs``, version 4), validated with bounded sizes.

The shape is Alertmanager's ``notify/webhook`` Message: the fields OtelMon uses are required, the rest are
accepted and ignored (``extra="ignore"``) so a later Alertmanager that adds a field is not refused.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

# Prometheus allows any label value; these bounds only stop a body that no real rule produces.
_Name = Annotated[str, StringConstraints(max_length=1024)]
_Value = Annotated[str, StringConstraints(max_length=65536)]
_Labels = Annotated[dict[_Name, _Value], Field(max_length=256)]

MAX_ALERTS = 1000
"""Alertmanager's own ``max_alerts`` for a webhook defaults to 0 (all): our config sets it below this."""


class WebhookAlert(BaseModel):
    model_config = ConfigDict(extra="ignore")

    status: Literal["firing", "resolved"]
    labels: _Labels
    annotations: _Labels = Field(default_factory=dict)
    startsAt: datetime  # noqa: N815 - Alertmanager's field names
    endsAt: datetime | None = None  # noqa: N815 - the Go zero time (year 1) while firing
    generatorURL: Annotated[str, StringConstraints(max_length=4096)] = ""  # noqa: N815
    fingerprint: Annotated[str, StringConstraints(min_length=1, max_length=64)]


class WebhookMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    version: Literal["4"]
    receiver: Annotated[str, StringConstraints(max_length=1024)] = ""
    status: Literal["firing", "resolved"]
    alerts: list[WebhookAlert] = Field(max_length=MAX_ALERTS)
    groupLabels: _Labels = Field(default_factory=dict)  # noqa: N815
    commonLabels: _Labels = Field(default_factory=dict)  # noqa: N815
    commonAnnotations: _Labels = Field(default_factory=dict)  # noqa: N815
    externalURL: Annotated[str, StringConstraints(max_length=4096)] = ""  # noqa: N815
    truncatedAlerts: int = Field(0, ge=0)  # noqa: N815
