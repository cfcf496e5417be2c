"""configs/tempo.yaml uses only keys that the pinned Tempo version documents (tests/stack/schemas)."""

from __future__ import annotations

import pytest
import yaml

from tests.stack.config_keys import SCHEMAS, KeySchema, expand_env_defaults, image_tag, read_key_file, unknown_keys
from tests.stack.dockerfiles import dockerfile_from_images
from tests.stack.stack_paths import REPO

TEMPO_CONFIG = REPO / "configs" / "tempo.yaml"


def _tempo_version(compose_model: dict) -> str:
    service = compose_model["services"]["tempo"]
    images = dockerfile_from_images(service["build"]) if "build" in service else []
    return image_tag([*images, service.get("image", "")], "grafana/tempo")


def _schema(version: str) -> KeySchema:
    keys_file = SCHEMAS / f"tempo-{version}-config-keys.txt"
    assert keys_file.is_file(), (
        f"no documented key list for Tempo {version}: derive {keys_file.name} from that version's "
        "docs/sources/tempo/configuration/manifest.md and _index.md (see the header of the current list)"
    )
    return read_key_file(keys_file)[""]


def _config() -> dict:
    return yaml.safe_load(expand_env_defaults(TEMPO_CONFIG.read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def schema(compose_model: dict) -> KeySchema:
    return _schema(_tempo_version(compose_model))


def test_the_key_list_is_the_pinned_versions(compose_model: dict) -> None:
    version = _tempo_version(compose_model)
    assert version == "2.10.8", "Tempo was bumped: check its config against the new version's key list"
    header = (SCHEMAS / f"tempo-{version}-config-keys.txt").read_text(encoding="utf-8").splitlines()[:3]
    assert any(f"tag v{version}," in line for line in header), header


def test_a_version_without_a_key_list_fails() -> None:
    with pytest.raises(AssertionError, match="no documented key list for Tempo 2.99.0"):
        _schema("2.99.0")


def test_every_key_of_the_config_is_documented(schema: KeySchema) -> None:
    assert unknown_keys(_config(), schema) == []


def test_the_retention_default_is_expanded_as_tempo_does() -> None:
    assert _config()["compactor"]["compaction"]["block_retention"] == "168h"


def test_misspelled_keys_are_reported(schema: KeySchema) -> None:
    config = _config()
    config["compactor"]["compaction"]["block_retension"] = config["compactor"]["compaction"].pop("block_retention")
    config["server"]["http_listen_prot"] = 3200
    config["distributor"]["recievers"] = config["distributor"].pop("receivers")
    assert unknown_keys(config, schema) == [
        "compactor.compaction.block_retension",
        "distributor.recievers",
        "distributor.recievers.otlp",
        "distributor.recievers.otlp.protocols",
        "distributor.recievers.otlp.protocols.grpc",
        "distributor.recievers.otlp.protocols.grpc.endpoint",
        "distributor.recievers.otlp.protocols.http",
        "distributor.recievers.otlp.protocols.http.endpoint",
        "server.http_listen_prot",
    ]


def test_keys_the_manifest_omits_at_their_zero_value_are_known(schema: KeySchema) -> None:
    # The manifest drops `omitempty` options left at false/0; the reference pages document them.
    for path in ("stream_over_http_enabled", "query_frontend.search.duration_slo", "multitenancy_enabled"):
        assert schema.allows(path), path


def test_only_the_receivers_map_is_free_form(schema: KeySchema) -> None:
    config = _config()
    config["distributor"]["receivers"]["otlp"]["protocols"]["grpc"]["max_recv_msg_size_mib"] = 16
    config["distributor"]["receivers"]["zipkin"] = {"endpoint": "0.0.0.0:9411"}
    assert unknown_keys(config, schema) == []
    config["storage"]["trace"]["local"]["paht"] = "/tmp"
    assert unknown_keys(config, schema) == ["storage.trace.local.paht"]
