"""``otelmon serve`` with no environment at all: an embedded SQLite file in the working directory."""

import httpx
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace.export import SpanExportResult
from sqlalchemy import create_engine, text

from tests.harness.spans import SpanFactory


def test_serve_with_no_configuration_uses_sqlite(start_api, tmp_path):
    api = start_api({}, cwd=tmp_path, clean_env=True)
    spans = SpanFactory()
    spans.ok("fine")
    spans.failing("broken")
    exporter = OTLPSpanExporter(endpoint=f"{api.url}/v1/traces", timeout=10)
    assert exporter.export(spans.take()) == SpanExportResult.SUCCESS
    assert httpx.get(f"{api.url}/readyz").status_code == 200
    engine = create_engine(f"sqlite:///{tmp_path / 'otelmon.db'}")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT process_name FROM failures")).scalars().all() == ["broken"]
    engine.dispose()
