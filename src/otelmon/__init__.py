"""OtelMon: failure alerts and digests for data pipelines, built on OpenTelemetry."""

__version__ = "0.1.0"
