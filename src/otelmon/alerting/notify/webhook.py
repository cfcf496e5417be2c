"""A generic webhook whose body is Alertmanager's webhook format (version 4), signed when a secret is set.

The body is what Alertmanager v0.28.1 sends (notify/webhook/webhook.go ``Message``, which embeds
template/template.go ``Data``), down to Go's encoding: the same fields in the same order, times in RFC 3339 with
``0001-01-01T00:00:00Z`` (Go's zero time) as ``endsAt`` while firing, ``<``, ``>`` and ``&`` escaped, and a
trailing newline. A receiver written for Alertmanager decodes it unchanged.

An OtelMon alert is one Alertmanager group: the head failure is the first alert, each failing step of the same
trace (``causes``) one more, a storm summary lists one alert per held-back row. ``truncatedAlerts`` counts
what did not fit (as Alertmanager's ``max_alerts`` does).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, SecretStr

from otelmon.alerting.notify.base import AlertView, Delivered, NotifyContext, Outcome, view_links
from otelmon.alerting.notify.http import MAX_RESPONSE_BYTES, REASON_CHARS, Answer, classify_error, host_of, post
from otelmon.alerting.notify.wording import issue_line
from otelmon.text import clip

SIGNATURE_HEADER = "X-OtelMon-Signature"
GO_ZERO_TIME = "0001-01-01T00:00:00Z"
ALERTNAMES = {"failure": "OtelMonFailure", "summary": "OtelMonStormSummary", "test": "OtelMonTest"}
LABEL_CHARS = 1024
ANNOTATION_CHARS = 1024
DESCRIPTION_CHARS = 2048
URL_CHARS = 8192  # a link cut short leads nowhere: links are bounded by the body's size only
ALERTS_LISTED = 20
# Alertmanager sets no limit; a receiver (often a small function behind a proxy) should not get megabytes.
MAX_BODY_BYTES = 128 * 1024
GROUP_LABELS = ("alertname", "platform", "group")


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: SecretStr
    secret: SecretStr | None = None


def build(config: Config, context: NotifyContext, receiver: str) -> WebhookNotifier:
    return WebhookNotifier(config, context, receiver)


def go_json(value: Any) -> bytes:
    """``value`` encoded as Go's ``json.Encoder`` does: compact, UTF-8, HTML-safe escapes, newline at the end.
    ``<``, ``>``, ``&``, U+2028 and U+2029 occur only inside strings, so escaping them afterwards is exact."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                          ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escaped)
    return (text + "\n").encode()


def signature(secret: str, body: bytes) -> str:
    """The ``X-OtelMon-Signature`` value of ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def rfc3339(moment: datetime | None) -> str:
    """Go's ``time.Time`` in JSON (RFC 3339 with nanoseconds, trailing zeros dropped); None is Go's zero time."""
    if moment is None:
        return GO_ZERO_TIME
    if moment.tzinfo is None:  # the database's times are naive UTC
        moment = moment.replace(tzinfo=timezone.utc)
    moment = moment.astimezone(timezone.utc)
    fraction = f".{moment.microsecond:06d}".rstrip("0").rstrip(".")
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + fraction + "Z"


def label_fingerprint(labels: dict[str, str]) -> str:
    """Alertmanager's fingerprint of a label set (prometheus/common model.LabelSet.Fingerprint: FNV-1a 64 of
    the sorted names and values, each followed by 0xff), for alerts that have no OtelMon fingerprint."""
    digest = 14695981039346656037
    for name in sorted(labels):
        for part in (name, labels[name]):
            for byte in part.encode() + b"\xff":
                digest = ((digest ^ byte) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return f"{digest:016x}"


def quote_meta(text: str) -> str:
    """Go's ``regexp.QuoteMeta``: Alertmanager passes the receiver's name through it into ``receiver``."""
    return re.sub(r"([\\.+*?()|\[\]{}^$])", r"\\\1", text)


def _kv(values: dict[str, Any], limits: dict[str, int] | None = None, default: int = LABEL_CHARS) -> dict[str, str]:
    """A Go ``template.KV``: string to string, empty values left out (Prometheus drops empty labels)."""
    limits = limits or {}
    return {key: clip(str(value), limits.get(key, default)) for key, value in values.items()
            if value is not None and str(value) != ""}


def _common(maps: list[dict[str, str]]) -> dict[str, str]:
    """What every map holds with the same value (Alertmanager's commonLabels / commonAnnotations)."""
    if not maps:
        return {}
    return {key: value for key, value in maps[0].items() if all(other.get(key) == value for other in maps[1:])}


def _issue_annotations(issue: dict[str, Any] | None, zone: str) -> dict[str, Any]:
    """The issue as annotations: its state, since when it fails (RFC 3339), how many runs in a row, and the
    sentence every other channel shows."""
    if not issue:
        return {}
    since = issue.get("failing_since")
    return {"issue": issue_line(issue, zone), "issue_state": issue.get("state"),
            "failing_since": rfc3339(since) if since is not None else None,
            "consecutive_failed_runs": issue.get("consecutive_failed_runs")}


class WebhookNotifier:
    def __init__(self, config: Config, context: NotifyContext, receiver: str) -> None:
        self.config = config
        self.context = context
        self.receiver = receiver

    def _alert(self, view: AlertView, labels: dict[str, Any], annotations: dict[str, Any],
               starts: datetime | None, generator: str | None, fingerprint: str | None) -> dict[str, Any]:
        labels = _kv({"alertname": ALERTNAMES[view.kind], **labels})
        # The alert's links as ``<key>_url`` ("failures_url", "mute_url", "ack_url"), on every alert of the
        # group, so they are among commonAnnotations; "trace" is each alert's own ``trace_url``.
        links = {f"{key}_url": url for key, _, url in view_links(view) if key != "trace"}
        limits = {"description": DESCRIPTION_CHARS, "trace_url": URL_CHARS} | dict.fromkeys(links, URL_CHARS)
        return {
            "status": view.status,
            "labels": labels,
            "annotations": _kv(annotations | links, limits, ANNOTATION_CHARS),
            "startsAt": rfc3339(starts or view.created_at),
            "endsAt": rfc3339(view.created_at or datetime.now(timezone.utc)) if view.status == "resolved"
            else GO_ZERO_TIME,
            "generatorURL": generator or "",
            # Alertmanager's fingerprints are 16 hex digits; OtelMon's are too, anything else is replaced.
            "fingerprint": fingerprint if re.fullmatch(r"[0-9a-f]{16}", fingerprint or "")
            else label_fingerprint(labels),
        }

    def _failure(self, view: AlertView, row: dict[str, Any], summary: str,
                 issue: dict[str, Any] | None = None) -> dict[str, Any]:
        labels = {key: row.get(key) for key in ("platform", "group", "process", "error_type")}
        labels.update({key: view.labels.get(key) for key in ("owner", "tags")})
        annotations = {"summary": summary, "description": row.get("error_message"),
                       "trace_url": row.get("trace_url"), "run_id": row.get("run_id"),
                       "try_number": row.get("try_number")} | _issue_annotations(issue, view.display_timezone)
        return self._alert(view, labels, annotations, row.get("end_time") or row.get("start_time"),
                           row.get("trace_url") or view.links.get("trace"), row.get("fingerprint"))

    def alerts(self, view: AlertView) -> tuple[list[dict[str, Any]], int]:
        """The group's alerts (at most ``ALERTS_LISTED``) and how many more there were."""
        verb = "RECOVERED" if view.status == "resolved" else "FAILED"
        if view.kind == "test":
            return [self._alert(view, {}, {"summary": view.title,
                                           "description": f"A test message to receiver {self.receiver}"},
                                None, None, None)], 0
        if view.kind == "summary":
            alerts = [self._alert(view, {key: row.get(key) for key in ("platform", "group", "process", "error_type")},
                                  {"summary": f"{row.get('count')} failures of {row.get('platform')} / "
                                              f"{row.get('group')} / {row.get('process')} held back ({view.title})",
                                   "description": row.get("error_message"), "count": row.get("count")},
                                  None, view.links.get("failures"), None)
                      for row in view.summary_rows[:ALERTS_LISTED]]
            return alerts, view.more_summary_rows + max(len(view.summary_rows) - ALERTS_LISTED, 0)
        # The issue is the head's (its fingerprint's): the other failing steps have issues of their own.
        alerts = [self._failure(view, view.head, view.title, view.issue)] if view.head is not None else []
        alerts += [self._failure(view, cause, f"{verb} {cause.get('platform')} / {cause.get('group')} / "
                                              f"{cause.get('process')}")
                   for cause in view.causes[: ALERTS_LISTED - len(alerts)]]
        listed = len(alerts) - (view.head is not None)
        return alerts, view.more_causes + len(view.causes) - listed

    def render(self, view: AlertView, thread: str | None) -> dict[str, Any]:
        alerts, truncated = self.alerts(view)
        # Within MAX_BODY_BYTES: drop alerts from the end, counted as truncated, as max_alerts would.
        while True:
            message = self._message(view, alerts, truncated)
            if len(go_json(message)) <= MAX_BODY_BYTES or len(alerts) <= 1:
                return message
            alerts, truncated = alerts[:-1], truncated + 1

    def _message(self, view: AlertView, alerts: list[dict[str, Any]], truncated: int) -> dict[str, Any]:
        labels = _common([alert["labels"] for alert in alerts])
        group_key = view.fingerprint if view.kind == "failure" and view.fingerprint else f"{view.kind}-{view.alert_id}"
        # Field order as Go encodes Message: the embedded Data's fields first.
        return {
            "receiver": quote_meta(self.receiver),
            "status": view.status,
            "alerts": alerts,
            "groupLabels": {key: labels[key] for key in GROUP_LABELS if key in labels},
            "commonLabels": labels,
            "commonAnnotations": _common([alert["annotations"] for alert in alerts]),
            "externalURL": self.context.settings.public_url,
            "version": "4",
            "groupKey": f"otelmon/{self.receiver}:{group_key}",
            "truncatedAlerts": truncated,
        }

    async def send(self, payload: dict[str, Any]) -> Outcome:
        url = self.config.url.get_secret_value()
        body = go_json(payload)  # encoded once: these exact bytes are signed and sent
        headers = {"Content-Type": "application/json"}
        if self.config.secret is not None:
            headers[SIGNATURE_HEADER] = signature(self.config.secret.get_secret_value(), body)
        answer = await post(self.context.http, url, content=body, headers=headers)
        if not isinstance(answer, Answer):
            return answer
        outcome = classify_error(answer, host_of(url), self._masked(answer.text(MAX_RESPONSE_BYTES)))
        return Delivered() if outcome is None else outcome

    def _masked(self, text: str) -> str:
        """A receiver's answer without the URL's path (or a long segment of it), query or credentials, nor the
        secret: a 404 page often quotes the path it did not find ("Cannot POST /hooks/<token>"), and the path is
        the webhook's secret. Masked before it is clipped, so no prefix of a secret survives the cut."""
        parts = urlsplit(self.config.url.get_secret_value())
        secrets = [parts.query, parts.password, parts.path if parts.path not in ("", "/") else None,
                   *(segment for segment in parts.path.split("/") if len(segment) >= 8),
                   self.config.secret.get_secret_value() if self.config.secret is not None else None]
        for secret in sorted(filter(None, secrets), key=len, reverse=True):
            text = text.replace(secret, "***")
        return clip(text, REASON_CHARS)
