"""The `logs` profile: Loki and the otelcol-logs collector, checked with the real Compose, Loki's config against
the pinned version's documented keys, and the names that link Tempo, Loki and the collector to each other."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from otelmon.failures import attributes as span_keys
from tests.stack.config_keys import SCHEMAS, KeySchema, expand_env_defaults, image_tag, read_key_file, unknown_keys
from tests.stack.conftest import one_shot_services, run_compose
from tests.stack.grafana_queries import dashboards
from tests.stack.stack_paths import DATASOURCES, ENV_EXAMPLE, REPO
from tests.stack.test_compose import LONG_RUNNING_MEMORY_BUDGET

LOKI_CONFIG = REPO / "configs" / "loki.yaml"
COLLECTOR_CONFIG = REPO / "configs" / "otelcol-logs.yaml"
PROFILE_SERVICES = {"loki", "otelcol-logs"}
DOCKER_LOGS = "/var/lib/docker/containers"
# The span attributes of a task try (trace_log) that the collector puts on each line of that try's task log.
TASK_TRY_KEYS = (span_keys.AIRFLOW_DAG_ID, span_keys.AIRFLOW_TASK_ID, span_keys.AIRFLOW_RUN_ID,
                 span_keys.AIRFLOW_TRY_NUMBER)


@pytest.fixture(scope="module")
def logs_model() -> dict:
    result = run_compose("--profile", "logs", "config", "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("env_file", [None, ENV_EXAMPLE], ids=["no-env-file", "env-example"])
def test_the_profile_is_valid_for_the_real_compose(env_file) -> None:
    result = run_compose("--profile", "logs", "config", "--quiet", env_file=env_file)
    assert result.returncode == 0, result.stderr
    assert "variable is not set" not in result.stderr, result.stderr


def test_without_the_profile_nothing_of_it_runs(compose_model: dict, logs_model: dict) -> None:
    assert PROFILE_SERVICES.isdisjoint(compose_model["services"])
    assert set(logs_model["services"]) - set(compose_model["services"]) == PROFILE_SERVICES
    for name in PROFILE_SERVICES:
        assert logs_model["services"][name]["profiles"] == ["logs"], name


def test_loki_is_pinned_and_checked_by_its_own_binary(logs_model: dict) -> None:
    loki = logs_model["services"]["loki"]
    assert loki["image"] == "grafana/loki:3.7.5"
    # Distroless: no shell, no wget; `loki -health` is Loki's own probe of /ready (image_evidence.yaml).
    assert loki["healthcheck"]["test"] == ["CMD", "/usr/bin/loki", "-health"]
    assert loki["command"][0] == "-config.file=/etc/loki/loki.yaml"
    assert _mount(loki, "/etc/loki/loki.yaml")["source"] == str(LOKI_CONFIG)


def _mount(service: dict, target: str) -> dict:
    (mount,) = [m for m in service.get("volumes", []) if m["target"] == target]
    return mount


def test_the_logs_collector_is_the_stack_collector_with_its_own_config(logs_model: dict) -> None:
    services = logs_model["services"]
    collector = services["otelcol-logs"]
    assert collector["build"] == services["otelcol"]["build"]
    assert collector["image"] == services["otelcol"]["image"]
    assert _mount(collector, "/etc/otelcol/config.yaml")["source"] == str(COLLECTOR_CONFIG)
    assert collector["command"] == ["--config=/etc/otelcol/config.yaml"]
    assert collector["depends_on"]["loki"]["condition"] == "service_healthy"


def test_the_only_host_path_outside_the_repo_is_dockers_log_directory_read_only(logs_model: dict) -> None:
    outside = []
    for name, service in logs_model["services"].items():
        for mount in service.get("volumes", []):
            if mount["type"] == "bind" and not mount["source"].startswith(str(REPO)):
                outside.append((name, mount["source"], mount["target"], mount.get("read_only", False)))
    assert outside == [("otelcol-logs", DOCKER_LOGS, DOCKER_LOGS, True)]
    assert _mount(logs_model["services"]["otelcol-logs"], "/opt/airflow/logs") == {
        "type": "volume", "source": "airflow-logs", "target": "/opt/airflow/logs", "read_only": True, "volume": {}}


def test_the_profile_fits_the_memory_budget(logs_model: dict) -> None:
    one_shots = one_shot_services(logs_model)
    total = sum(int(s["mem_limit"]) for n, s in logs_model["services"].items() if n not in one_shots)
    assert total <= LONG_RUNNING_MEMORY_BUDGET, f"with the logs profile: {total / 1024**3:.1f} GiB"


def test_every_container_log_line_names_its_compose_service(logs_model: dict) -> None:
    # The collector maps this json-file "attrs" entry to service.name (configs/otelcol-logs.yaml).
    for name, service in logs_model["services"].items():
        assert service["logging"]["driver"] == "json-file", name
        assert "com.docker.compose.service" in service["logging"]["options"]["labels"].split(","), name
    assert 'attrs["com.docker.compose.service"]' in COLLECTOR_CONFIG.read_text()


# ---------------------------------------------------------------- Loki's configuration

def _loki_schema(version: str) -> KeySchema:
    keys_file = SCHEMAS / f"loki-{version}-config-keys.txt"
    assert keys_file.is_file(), (
        f"no documented key list for Loki {version}: derive {keys_file.name} from that version's "
        "docs/sources/shared/configuration.md (see the header of the current list)"
    )
    return read_key_file(keys_file)[""]


def _loki_config() -> dict:
    return yaml.safe_load(expand_env_defaults(LOKI_CONFIG.read_text(encoding="utf-8")))


def test_the_loki_key_list_is_the_pinned_versions(logs_model: dict) -> None:
    version = image_tag([logs_model["services"]["loki"]["image"]], "grafana/loki")
    assert version == "3.7.5", "Loki was bumped: check its config against the new version's key list"
    header = (SCHEMAS / f"loki-{version}-config-keys.txt").read_text(encoding="utf-8").splitlines()[:3]
    assert any(f"tag v{version}," in line for line in header), header


def test_a_loki_version_without_a_key_list_fails() -> None:
    with pytest.raises(AssertionError, match="no documented key list for Loki 3.99.0"):
        _loki_schema("3.99.0")


def test_every_key_of_the_loki_config_is_documented() -> None:
    assert unknown_keys(_loki_config(), _loki_schema("3.7.5")) == []


def test_misspelled_loki_keys_are_reported() -> None:
    config = _loki_config()
    config["limits_config"]["retention_perod"] = config["limits_config"].pop("retention_period")
    config["schema_config"]["configs"][0]["objectstore"] = "filesystem"
    assert unknown_keys(config, _loki_schema("3.7.5")) == [
        "limits_config.retention_perod",
        "schema_config.configs[].objectstore",
    ]


def test_loki_keeps_logs_for_the_configured_retention() -> None:
    config = _loki_config()
    assert config["limits_config"]["retention_period"] == "168h"
    assert config["compactor"]["retention_enabled"] is True
    # OTLP ingestion stores attributes (trace_id, span_id) as structured metadata: it needs the v13 tsdb schema.
    assert config["limits_config"]["allow_structured_metadata"] is True
    assert {"store": "tsdb", "schema": "v13"}.items() <= config["schema_config"]["configs"][-1].items()


def test_the_collector_sends_to_lokis_otlp_endpoint() -> None:
    collector = yaml.safe_load(COLLECTOR_CONFIG.read_text())
    endpoint = collector["exporters"]["otlp_http/loki"]["endpoint"]
    default = re.fullmatch(r"\$\{env:LOKI_OTLP_ENDPOINT:-([^}]*)\}", endpoint)
    assert default, endpoint
    assert default.group(1) == f"http://loki:{_loki_config()['server']['http_listen_port']}/otlp"
    assert collector["service"]["pipelines"]["logs"]["exporters"] == ["otlp_http/loki"]


# ---------------------------------------------------------------- Grafana: Tempo <-> Loki

def _datasource(uid: str) -> dict:
    (found,) = [d for d in yaml.safe_load(DATASOURCES.read_text())["datasources"] if d["uid"] == uid]
    return found


def _loki_name(attribute: str) -> str:
    # Loki stores an OTLP attribute under its name with every character outside [a-zA-Z0-9_] as "_".
    return re.sub(r"[^a-zA-Z0-9_]", "_", attribute)


def test_a_span_links_to_its_logs_by_trace_id_and_to_its_task_try_log() -> None:
    link = _datasource("tempo")["jsonData"]["tracesToLogsV2"]
    assert link["datasourceUid"] == "loki"
    assert link["customQuery"] is True
    query = link["query"]
    # $$ is the provisioning file's escape of a literal $, which Grafana's own ${__trace...} needs.
    assert 'trace_id="$${__trace.traceId}"' in query
    for key in TASK_TRY_KEYS:
        assert f'{_loki_name(key)}="$${{__span.tags["{key}"]}}"' in query, key
    # The collector writes those very attribute names on each task log line.
    collector_text = COLLECTOR_CONFIG.read_text()
    for key in TASK_TRY_KEYS:
        assert f'to: attributes["{key}"]' in collector_text, key


def test_a_log_line_links_back_to_its_trace() -> None:
    (field,) = _datasource("loki")["jsonData"]["derivedFields"]
    assert field["datasourceUid"] == "tempo"
    assert field["matcherType"] == "label"
    assert field["matcherRegex"] == "trace_id"
    assert field["url"] == "$${__value.raw}"


def test_the_failures_dashboard_shows_recent_error_logs() -> None:
    board = dashboards()["failures.json"]
    (panel,) = [p for p in board["panels"] if p["type"] == "logs"]
    assert panel["datasource"] == {"type": "loki", "uid": "loki"}
    (target,) = panel["targets"]
    assert target["expr"].startswith('{service_name=~".+"}')
    assert '| detected_level=~"error|critical|fatal"' in target["expr"]
