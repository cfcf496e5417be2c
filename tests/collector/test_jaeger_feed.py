"""The `jaeger` profile: configs/jaeger.yaml uses only keys Jaeger 2.13.0 documents (its shipped example configs
and the query extension's server keys, tests/stack/schemas/jaeger-2.13.0-config-keys.txt), and the real
collector, running the stack's config plus compose.jaeger.yaml's fragment, sends every span to Jaeger's OTLP
address while Tempo's place still gets them all.

Jaeger itself is not built here: its cold build (about 10 minutes on 2 cores) does not fit the cold CI budget
next to everything else, so an OTLP/gRPC sink takes its place, as one takes Tempo's.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.collector.otelcol_process import CONFIG, Collector
from tests.collector.runs import make_run, send
from tests.harness.otlp_sinks import GrpcTraceSink, HttpTraceSink
from tests.stack.config_keys import SCHEMAS, expand_env_defaults, read_key_file, unknown_keys

JAEGER_CONFIG = CONFIG.parent / "jaeger.yaml"
FRAGMENT = CONFIG.parent / "otelcol-extra" / "jaeger.yaml"
COMPOSE = CONFIG.parent.parent / "docker-compose.yaml"
DELIVERY_TIMEOUT = 30


def jaeger_keys():
    tags = [line.split(":")[-1].strip() for line in COMPOSE.read_text().splitlines()
            if line.strip().startswith("image: jaegertracing/jaeger:")]
    assert len(tags) == 1, tags
    key_file = SCHEMAS / f"jaeger-{tags[0]}-config-keys.txt"
    assert key_file.exists(), f"no key list for the pinned Jaeger {tags[0]}: derive {key_file.name}"
    return read_key_file(key_file)[""]


def test_jaeger_config_uses_only_documented_keys() -> None:
    config = yaml.safe_load(expand_env_defaults(JAEGER_CONFIG.read_text()))
    assert unknown_keys(config, jaeger_keys()) == []


def test_a_misspelled_jaeger_key_is_reported() -> None:
    config = yaml.safe_load(expand_env_defaults(JAEGER_CONFIG.read_text().replace("max_traces:", "max_trace:")))
    assert unknown_keys(config, jaeger_keys()) == ["extensions.jaeger_storage.backends.memstore.memory.max_trace"]


@pytest.fixture
def jaeger_sink():
    sink = GrpcTraceSink().start()
    yield sink
    sink.stop()


@pytest.mark.slow
def test_the_collector_feeds_jaeger_every_span(
    jaeger_sink: GrpcTraceSink, otelcol_binary: Path, tempo_sink: GrpcTraceSink, api_sink: HttpTraceSink,
    tmp_path: Path,
) -> None:
    collector = Collector(otelcol_binary, tmp_path / "otelcol", tempo_endpoint=tempo_sink.endpoint,
                          api_url=api_sink.url, extra_configs=(FRAGMENT,),
                          extra_env={"JAEGER_OTLP_ENDPOINT": jaeger_sink.endpoint})
    collector.start()
    try:
        run = make_run(ok_spans=19)
        send(collector.otlp_http_traces_url, run.spans)
        jaeger = jaeger_sink.received.wait_for(lambda got: {s.span_id for s in got} >= run.span_ids,
                                               DELIVERY_TIMEOUT, "every span at Jaeger's OTLP address")
        tempo = tempo_sink.received.wait_for(lambda got: {s.span_id for s in got} >= run.span_ids,
                                             DELIVERY_TIMEOUT, "every span at Tempo's place too")
        assert len(jaeger) == len(tempo) == len(run.spans)
    finally:
        collector.stop()
