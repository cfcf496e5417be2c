"""Alertmanager alerts as failures and runs, so the whole pipeline (issues, routes, silences, repeat interval,
recovery notices) treats a stack-health alert like a failing pipeline step.

- A firing alert is a failure of platform ``prometheus``, group its ``job`` label (``stack`` without one),
  process its ``alertname`` (with `` @ instance`` when it has one, so each instance is its own issue),
  error type the alertname, message its ``summary`` and ``description`` annotations, start ``startsAt``.
- Its identity is (Alertmanager's fingerprint, ``startsAt``): Alertmanager re-sends a firing group at every
  ``repeat_interval`` and on every change of the group; all of those are one failure. The same alert firing
  again after it resolved has a new ``startsAt``: a new failure, and its issue regresses.
- A resolved alert is a successful run of that step, ending at ``endsAt``: it resolves the issue, and the
  receivers that got the alert get the recovery notice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from otelmon.alertmanager.webhook import WebhookAlert, WebhookMessage
from otelmon.clock import utcnow
from otelmon.failures.model import Failure
from otelmon.failures.values import to_naive_utc
from otelmon.runs.model import SUCCESS, Run
from otelmon.text import clip

PLATFORM = "prometheus"
DEFAULT_GROUP = "stack"
_NAME_LIMIT = 255  # the group and process columns
_GO_ZERO_YEAR = 1  # Alertmanager's "not set" time, 0001-01-01T00:00:00Z


@dataclass
class Records:
    failures: list[Failure] = field(default_factory=list)
    runs: list[Run] = field(default_factory=list)


def step_of(alert: WebhookAlert) -> tuple[str, str, str]:
    """(platform, group, process): the same for the alert's firing and resolved notifications."""
    name = alert.labels.get("alertname") or "unnamed alert"
    instance = alert.labels.get("instance")
    process = f"{name} @ {instance}" if instance else name
    group = alert.labels.get("job") or DEFAULT_GROUP
    return PLATFORM, clip(group, _NAME_LIMIT), clip(process, _NAME_LIMIT)


def _moment(value: datetime | None) -> datetime | None:
    if value is None or value.year == _GO_ZERO_YEAR:
        return None
    return to_naive_utc(value)


def _occurrence(alert: WebhookAlert, started: datetime) -> str:
    # The run id of one firing: what makes a re-sent notification the same failure and its resolution one run.
    return f"alertmanager:{alert.fingerprint}:{started.isoformat()}"


def _message(alert: WebhookAlert) -> str | None:
    parts = [alert.annotations.get(key, "").strip() for key in ("summary", "description")]
    return "\n\n".join(part for part in parts if part) or None


def to_failure(alert: WebhookAlert) -> Failure:
    platform, group, process = step_of(alert)
    started = _moment(alert.startsAt) or utcnow()
    return Failure(
        platform=platform,
        group=group,
        process=process,
        span_name=alert.labels.get("alertname") or process,
        start_time=started,
        end_time=started,
        run_id=_occurrence(alert, started),
        host=alert.labels.get("instance"),
        error_type=alert.labels.get("alertname") or "alert",
        error_message=_message(alert),
        attributes={"alertmanager": {
            "fingerprint": alert.fingerprint,
            "labels": dict(alert.labels),
            "annotations": dict(alert.annotations),
            "generator_url": alert.generatorURL,
        }},
    )


def to_run(alert: WebhookAlert) -> Run:
    platform, group, process = step_of(alert)
    started = _moment(alert.startsAt) or utcnow()
    ended = max(_moment(alert.endsAt) or utcnow(), started)
    # Its own run id: the firing's failure keeps its row, and a re-sent resolution is one run.
    return Run(platform=platform, group=group, process=process, start_time=started, end_time=ended,
               outcome=SUCCESS, run_id=_occurrence(alert, started) + ":resolved")


def to_records(message: WebhookMessage) -> Records:
    """Each alert by its own status: one notification may carry firing and resolved alerts."""
    records = Records()
    for alert in message.alerts:
        if alert.status == "firing":
            records.failures.append(to_failure(alert))
        else:
            records.runs.append(to_run(alert))
    return records
