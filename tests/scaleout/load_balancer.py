"""The real collector in front of several ``otelmon serve`` replicas, spreading traces over them by trace id
with the contrib loadbalancingexporter (type ``load_balancing`` at v0.159.0; ``loadbalancing`` is its deprecated
alias), built into the test collector from configs/otelcol-builder.yaml.

At v0.159.0 that exporter speaks only OTLP/gRPC to its backends (its config.go: ``Protocol`` has one field,
``otlp``, an otlpexporter.Config, "Only OTLP is supported at the moment"; there is no HTTP protocol), and
the API takes OTLP/HTTP only (``POST /v1/traces``). So each backend the exporter resolves is an OTLP/gRPC
receiver, one per replica, whose pipeline forwards to that replica with ``otlp_http`` (as the stack's
``otlp_http/otelmon`` does): the usual two-tier layout of the loadbalancing exporter (a load-balancing
collector in front of per-backend collectors), with both tiers in one process to spare the 2-core machine
three more. Routing stays the exporter's own: a trace always goes to the same replica, and a replica that is
down keeps its traces in its forwarder's retry queue until it is back (the static resolver does not drop a
backend; the forwarder, not the balancer, holds what that backend missed).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import yaml

from tests.collector.otelcol_process import Collector
from tests.harness.ports import free_port


def config(collector: Collector, api_urls: Sequence[str], token: str, hop_ports: Sequence[int]) -> dict:
    """The collector's configuration: OTLP/HTTP in, ``loadbalancing`` by trace id over one gRPC hop per replica,
    each hop delivering to its replica's ``/v1/traces``."""
    ports = collector.ports
    hops = [f"replica{n}" for n in range(len(api_urls))]
    receivers: dict = {"otlp": {"protocols": {"http": {"endpoint": f"127.0.0.1:{ports['OTELCOL_OTLP_HTTP_PORT']}"}}}}
    exporters: dict = {
        "load_balancing": {
            "routing_key": "traceID",
            "protocol": {"otlp": {"tls": {"insecure": True}, "timeout": "10s"}},
            "resolver": {"static": {"hostnames": [f"127.0.0.1:{port}" for port in hop_ports]}},
        },
    }
    pipelines: dict = {"traces": {"receivers": ["otlp"], "processors": ["batch"], "exporters": ["load_balancing"]}}
    for hop, port, url in zip(hops, hop_ports, api_urls, strict=True):
        receivers[f"otlp/{hop}"] = {"protocols": {"grpc": {"endpoint": f"127.0.0.1:{port}"}}}
        exporters[f"otlp_http/{hop}"] = {
            "endpoint": url,
            "encoding": "proto",
            "compression": "gzip",
            "timeout": "10s",
            "headers": {"Authorization": f"Bearer {token}"},
            # A killed replica's traces wait here (in memory) until it is back; short intervals keep the test
            # and the benchmark from waiting on the backoff rather than on the replica.
            "retry_on_failure": {"enabled": True, "initial_interval": "200ms", "max_interval": "1s",
                                 "max_elapsed_time": "300s"},
            "sending_queue": {"enabled": True, "num_consumers": 4, "queue_size": 10000},
        }
        pipelines[f"traces/{hop}"] = {"receivers": [f"otlp/{hop}"], "exporters": [f"otlp_http/{hop}"]}
    return {
        "extensions": {"health_check": {"endpoint": f"127.0.0.1:{ports['OTELCOL_HEALTH_PORT']}"}},
        "receivers": receivers,
        # As the stack's errors pipeline batches: 200 ms or 512 spans.
        "processors": {"batch": {"timeout": "200ms", "send_batch_size": 512, "send_batch_max_size": 2048}},
        "exporters": exporters,
        "service": {
            "extensions": ["health_check"],
            "telemetry": {"metrics": {"readers": [{"pull": {"exporter": {"prometheus": {
                "host": "127.0.0.1", "port": ports["OTELCOL_TELEMETRY_PORT"], "without_type_suffix": False}}}}]}},
            "pipelines": pipelines,
        },
    }


def start_load_balancer(binary: Path, workdir: Path, api_urls: Sequence[str], token: str) -> Collector:
    """The collector, healthy, in front of ``api_urls``; its OTLP/HTTP receiver is ``otlp_http_traces_url``."""
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "otelcol-loadbalancing.yaml"
    collector = Collector(binary, workdir, tempo_endpoint="", api_url="", ingest_token=token, config=path)
    path.write_text(yaml.safe_dump(config(collector, api_urls, token, [free_port() for _ in api_urls])))
    return collector.start()
