"""Debian's Prometheus on loopback, holding two hours of the metrics the stack produces.

The samples are backfilled with ``promtool tsdb create-blocks-from openmetrics`` before the server
starts, so every dashboard and rule expression can be evaluated against series with the names and
labels that the collector's span metrics, the collector itself and otelmon-api export.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx

from tests.harness import stack_tools
from tests.harness.prometheus import Prometheus
from tests.stack.stack_paths import PROMETHEUS_RULES

STEP_SECONDS = 15
SPAN_BUCKETS = ("0.1", "1", "10", "60", "+Inf")
API_BUCKETS = ("0.005", "0.05", "0.5", "+Inf")
# Executions: (platform, group, process, service) as the collector's span metrics label them.
PIPELINES = (
    ("airflow", "daily_sales", "load", "airflow"),
    ("nifi", "ingest_orders", "ExecuteScript", "nifi"),
)


class _Series:
    """One OpenMetrics family per metric name; each series' samples in time order."""

    def __init__(self) -> None:
        self.families: dict[str, list[tuple[dict[str, str], list[float]]]] = {}

    def add(self, name: str, labels: dict[str, str], values: list[float]) -> None:
        self.families.setdefault(name, []).append((labels, values))

    def openmetrics(self, start: int) -> str:
        lines: list[str] = []
        for name, series in self.families.items():
            lines.append(f"# TYPE {name} unknown")
            for labels, values in series:
                label_text = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
                for i, value in enumerate(values):
                    lines.append(f"{name}{{{label_text}}} {value} {start + i * STEP_SECONDS}")
        lines.append("# EOF")
        return "\n".join(lines) + "\n"


def _counter(points: int, per_step: float) -> list[float]:
    return [round(i * per_step, 3) for i in range(points)]


def _histogram(
    series: _Series, name: str, labels: dict[str, str], buckets: tuple[str, ...], points: int, per_step: float
) -> None:
    # Cumulative buckets: a growing share of the observations falls under each bound.
    for n, le in enumerate(buckets, start=1):
        share = 1.0 if le == "+Inf" else n / (len(buckets) + 1)
        series.add(f"{name}_bucket", {**labels, "le": le}, _counter(points, per_step * share))
    series.add(f"{name}_count", labels, _counter(points, per_step))
    series.add(f"{name}_sum", labels, _counter(points, per_step * 2.5))


def stack_samples(points: int) -> _Series:
    s = _Series()
    for platform, group, process, service in PIPELINES:
        base = {
            "job": "otelcol-spanmetrics",
            "instance": "otelcol:8889",
            "service_name": service,
            "span_name": process,
            "span_kind": "SPAN_KIND_INTERNAL",
            "otelmon_platform": platform,
            "otelmon_group": group,
            "otelmon_process": process,
        }
        for status, rate in (("STATUS_CODE_UNSET", 4.0), ("STATUS_CODE_ERROR", 0.25)):
            labels = {**base, "status_code": status}
            s.add("traces_span_metrics_calls_total", labels, _counter(points, rate))
            _histogram(s, "traces_span_metrics_duration_seconds", labels, SPAN_BUCKETS, points, rate)

    for job, instance in (
        ("otelmon-api", "otelmon-api:8090"),
        ("otelcol", "otelcol:8888"),
        ("otelcol-spanmetrics", "otelcol:8889"),
        ("prometheus", "localhost:9090"),
    ):
        s.add("up", {"job": job, "instance": instance}, [1.0] * points)

    api = {"job": "otelmon-api", "instance": "otelmon-api:8090"}
    for status, rate in (("200", 10.0), ("503", 0.5), ("401", 0.1)):
        s.add("otelmon_ingest_requests_total", {**api, "status": status}, _counter(points, rate))
    for name, rate in (
        ("otelmon_spans_received_total", 500.0),
        ("otelmon_failures_stored_total", 2.0),
        ("otelmon_failures_duplicate_total", 0.2),
        ("otelmon_alerts_sent_total", 1.0),
        ("otelmon_alerts_suppressed_total", 0.5),
        ("otelmon_alerts_held_total", 0.05),
        ("otelmon_alerts_failed_total", 0.01),
    ):
        s.add(name, api, _counter(points, rate))
    _histogram(s, "otelmon_ingest_duration_seconds", api, API_BUCKETS, points, 10.0)
    s.add("otelmon_outbox_backlog", api, [float(i % 7) for i in range(points)])
    s.add("otelmon_database_up", api, [1.0] * points)

    # The collector's counters as its plain-text /metrics spells them: no _total suffix.
    col = {"job": "otelcol", "instance": "otelcol:8888"}
    for transport in ("grpc", "http"):
        labels = {**col, "receiver": "otlp", "transport": transport}
        s.add("otelcol_receiver_accepted_spans", labels, _counter(points, 250.0))
        s.add("otelcol_receiver_refused_spans", labels, _counter(points, 1.0))
    for exporter in ("otlp_grpc/tempo", "otlp_http/otelmon"):
        labels = {**col, "exporter": exporter}
        s.add("otelcol_exporter_sent_spans", labels, _counter(points, 250.0))
        s.add("otelcol_exporter_send_failed_spans", labels, _counter(points, 0.5))
        s.add("otelcol_exporter_queue_size", labels, [float(i % 50) for i in range(points)])
        s.add("otelcol_exporter_queue_capacity", labels, [1000.0] * points)

    # The `host` profile's exporters (configs/prometheus/host-scrape.yml), for the "Host and containers" dashboard.
    node = {"job": "node", "instance": "host"}
    for cpu in ("0", "1"):
        for mode, rate in (("idle", 10.0), ("user", 3.0), ("system", 1.0), ("iowait", 0.2)):
            s.add("node_cpu_seconds_total", {**node, "cpu": cpu, "mode": mode}, _counter(points, rate))
    s.add("node_memory_MemTotal_bytes", node, [16e9] * points)
    s.add("node_memory_MemAvailable_bytes", node, [6e9 + (i % 5) * 1e8 for i in range(points)])
    disk = {**node, "fstype": "ext4", "mountpoint": "/", "device": "/dev/sda1"}
    s.add("node_filesystem_size_bytes", disk, [500e9] * points)
    s.add("node_filesystem_avail_bytes", disk, [200e9] * points)
    s.add("node_load1", node, [1.5 + (i % 3) * 0.1 for i in range(points)])
    for name, cores, memory in (("otelmon-api-1", 0.2, 180e6), ("otelmon-nifi-1", 0.8, 2.1e9)):
        labels = {"job": "cadvisor", "instance": "cadvisor:8080", "name": name}
        s.add("container_cpu_usage_seconds_total", labels, _counter(points, cores * STEP_SECONDS))
        s.add("container_memory_working_set_bytes", labels, [memory] * points)
    for job, success in (("probe-otelmon-api", 1.0), ("probe-tempo", 0.0)):
        labels = {"job": job, "instance": "blackbox-exporter:9115"}
        s.add("probe_success", labels, [success] * points)
        s.add("probe_duration_seconds", labels, [0.02] * points)
    s.add("push_time_seconds", {"job": "nightly_billing", "instance": ""}, [1.7e9] * points)
    return s


class PrometheusServer:
    """Prometheus with two hours of stack-shaped samples backfilled and the stack's rules loaded."""

    def __init__(self, base_dir: Path) -> None:
        self.base_dir = base_dir
        # Two hours of samples ending well in the past, so the head block never overlaps them.
        now = int(time.time())
        self.end = now - now % 3600 - 3600
        self.start_time = self.end - 2 * 3600
        # The stack's own rules are loaded too: a real server must accept them.
        config = f"global:\n  evaluation_interval: 15s\nrule_files:\n  - {PROMETHEUS_RULES}\n"
        self.server = Prometheus(base_dir, config, extra_args=("--storage.tsdb.retention.time=30d",))
        self.url = self.server.url

    def start(self, timeout: float = 60) -> PrometheusServer:
        source = self.base_dir / "samples.om"
        points = (self.end - self.start_time) // STEP_SECONDS + 1
        source.write_text(stack_samples(points).openmetrics(self.start_time), encoding="utf-8")
        subprocess.run(
            [stack_tools.promtool(), "tsdb", "create-blocks-from", "openmetrics", str(source), str(self.server.data)],
            check=True,
            capture_output=True,
            timeout=300,
        )
        self.server.start(timeout)
        return self

    def query(self, expr: str) -> dict:
        """An instant query at the end of the samples; the parsed JSON answer (errors included)."""
        return self.server.query(expr, at=self.end)

    def rule_groups(self) -> list[dict]:
        return httpx.get(f"{self.url}/api/v1/rules", timeout=10).json()["data"]["groups"]

    def stop(self) -> None:
        self.server.stop()
