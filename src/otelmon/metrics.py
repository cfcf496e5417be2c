"""Prometheus metrics of one OtelMon process: the API, its ingest and its alerting (a registry per app, so
tests can run several). At the package's top so that alerting, which records them, imports nothing above it."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.ingest_requests = Counter(
            "otelmon_ingest_requests", "Trace export and failure report requests by HTTP status", ["status"], registry=r
        )
        self.spans_received = Counter("otelmon_spans_received", "Spans decoded from OTLP requests", registry=r)
        self.spans_rejected = Counter(
            "otelmon_spans_rejected", "ERROR spans that could not be used (reported in partial_success)", registry=r
        )
        self.failures_stored = Counter("otelmon_failures_stored", "New failure rows", registry=r)
        self.runs_received = Counter(
            "otelmon_runs_received", "Task tries (task-level spans) received, redeliveries included", registry=r
        )
        self.failures_duplicate = Counter(
            "otelmon_failures_duplicate", "Failures already stored (redelivery or a second span of one try)", registry=r
        )
        self.ingest_duration = Histogram(
            "otelmon_ingest_duration_seconds",
            "Time to decode and store one request",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=r,
        )
        self.alerts_sent = Counter(
            "otelmon_alerts_sent", "Alerts delivered to every target of their routes", registry=r)
        self.notifications = Counter(
            "otelmon_notifications",
            "Delivery attempts by integration and outcome (delivered, retry: tried again later, failed: given up)",
            ["integration", "outcome"], registry=r,
        )
        self.alerts_suppressed = Counter(
            "otelmon_alerts_suppressed",
            "Failing traces not emailed: fingerprint within the repeat interval",
            registry=r,
        )
        self.alerts_held = Counter(
            "otelmon_alerts_held", "Failures held back by the storm cap (named in a summary email)", registry=r
        )
        self.alerts_failed = Counter("otelmon_alerts_failed", "Alerts given up: a target failed for good", registry=r)
        self.outbox_backlog = Gauge("otelmon_outbox_backlog", "Alerts waiting to be dispatched or sent", registry=r)
        self.database_up = Gauge("otelmon_database_up", "1 when the last database operation succeeded", registry=r)
