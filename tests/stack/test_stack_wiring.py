"""The stack's files agree with each other: versions, ports, paths and variables that one file
names and another serves."""

from __future__ import annotations

import re

import yaml

from tests.stack.dockerfiles import dockerfile_from_images
from tests.stack.stack_paths import PROMETHEUS_CONFIG, REPO

OTELCOL_CONFIG = REPO / "configs" / "otelcol.yaml"
OTELCOL_MANIFEST = REPO / "configs" / "otelcol-builder.yaml"


def _env_default(value: str) -> str:
    """``${env:NAME:-default}`` -> default, as the collector resolves it when NAME is unset."""
    return re.sub(r"\$\{env:\w+:-([^}]*)\}", r"\1", value)


def _otelcol() -> dict:
    return yaml.safe_load(OTELCOL_CONFIG.read_text())


def test_collector_image_is_the_version_the_config_is_written_for(compose_model: dict) -> None:
    header = OTELCOL_CONFIG.read_text().splitlines()[0]
    version = re.search(r"otelcol-contrib (\d+\.\d+\.\d+)", header).group(1)
    images = dockerfile_from_images(compose_model["services"]["otelcol"]["build"])
    assert f"otel/opentelemetry-collector-contrib:{version}" in images
    manifest = yaml.safe_load(OTELCOL_MANIFEST.read_text())
    assert manifest["dist"]["version"] == version


def test_collector_queue_directory_is_the_named_volume(compose_model: dict) -> None:
    directory = _env_default(_otelcol()["extensions"]["file_storage/queue"]["directory"])
    mounts = {m["target"]: m for m in compose_model["services"]["otelcol"]["volumes"]}
    assert mounts[directory]["type"] == "volume"
    assert mounts[directory]["source"] == "otelcol-queue"
    # The collector runs as 10001: the init job must hand it the same directory.
    init = compose_model["services"]["otelcol-queue-init"]
    assert init["command"][-1] == directory and "10001:10001" in init["command"]


def test_collector_listens_where_compose_and_prometheus_expect(compose_model: dict) -> None:
    config = _otelcol()
    health = _env_default(config["extensions"]["health_check"]["endpoint"])
    assert health.endswith(":13133")
    assert "http://127.0.0.1:13133/" in compose_model["services"]["otelcol"]["healthcheck"]["test"]
    grpc = _env_default(config["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"])
    http = _env_default(config["receivers"]["otlp"]["protocols"]["http"]["endpoint"])
    assert (grpc, http) == ("0.0.0.0:4317", "0.0.0.0:4318")
    spanmetrics = _env_default(config["exporters"]["prometheus"]["endpoint"]).rsplit(":", 1)[1]
    reader = config["service"]["telemetry"]["metrics"]["readers"][0]["pull"]["exporter"]["prometheus"]
    telemetry = _env_default(str(reader["port"]))
    targets = _scrape_targets()
    assert targets["otelcol"] == [f"otelcol:{telemetry}"]
    assert targets["otelcol-spanmetrics"] == [f"otelcol:{spanmetrics}"]


def test_collector_exports_to_the_compose_services(compose_model: dict) -> None:
    exporters = _otelcol()["exporters"]
    tempo = _env_default(exporters["otlp_grpc/tempo"]["endpoint"])
    assert tempo == "tempo:4317"
    tempo_config = yaml.safe_load((REPO / "configs" / "tempo.yaml").read_text())
    assert tempo_config["distributor"]["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"] == "0.0.0.0:4317"
    api = _env_default(exporters["otlp_http/otelmon"]["endpoint"])
    assert api == "http://otelmon-api:8090"
    assert "OTELMON_INGEST_TOKEN" in exporters["otlp_http/otelmon"]["headers"]["Authorization"]
    # The token the collector sends is the token the API expects.
    services = compose_model["services"]
    assert (
        services["otelcol"]["environment"]["OTELMON_INGEST_TOKEN"]
        == services["otelmon-api"]["environment"]["OTELMON_INGEST_TOKEN"]
    )


def test_span_metrics_have_the_names_the_dashboards_query() -> None:
    span_metrics = _otelcol()["connectors"]["span_metrics"]
    assert span_metrics["namespace"] == "traces.span.metrics"
    assert span_metrics["histogram"]["unit"] == "s"
    assert [d["name"] for d in span_metrics["dimensions"]] == ["otelmon.platform", "otelmon.group", "otelmon.process"]
    assert span_metrics["exemplars"]["enabled"] is True
    assert _otelcol()["exporters"]["prometheus"]["enable_open_metrics"] is True


def test_prometheus_scrapes_the_api_on_its_port(compose_model: dict) -> None:
    assert _scrape_targets()["otelmon-api"] == ["otelmon-api:8090"]
    assert "--enable-feature=exemplar-storage" in compose_model["services"]["prometheus"]["command"]


def test_airflow_and_nifi_send_to_the_collector(compose_model: dict) -> None:
    for name in ("airflow-scheduler", "airflow-apiserver", "nifi"):
        env = compose_model["services"][name]["environment"]
        assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otelcol:4318", name
        assert env["OTEL_SERVICE_NAME"] in ("airflow", "nifi")


def test_api_and_airflow_share_the_database_and_smtp(compose_model: dict) -> None:
    api = compose_model["services"]["otelmon-api"]["environment"]
    airflow = compose_model["services"]["airflow-scheduler"]["environment"]
    for key in ("OTELMON_DATABASE_URL", "OTELMON_SMTP_HOST", "OTELMON_SMTP_PORT", "OTELMON_GRAFANA_URL"):
        assert api[key] == airflow[key], key
    assert api["OTELMON_DATABASE_URL"].startswith("mysql+pymysql://otelmon:")
    assert api["OTELMON_DATABASE_URL"].endswith("@mariadb:3306/otelmon")
    assert (api["OTELMON_SMTP_HOST"], api["OTELMON_SMTP_PORT"]) == ("mailpit", "1025")
    mariadb = compose_model["services"]["mariadb"]["environment"]
    assert f":{mariadb['MARIADB_PASSWORD']}@" in api["OTELMON_DATABASE_URL"]
    assert airflow["AIRFLOW_CONN_OTELMON_DB"].startswith(f"mysql://otelmon:{mariadb['MARIADB_PASSWORD']}@mariadb")


def _scrape_targets() -> dict[str, list[str]]:
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    return {
        job["job_name"]: [t for sc in job["static_configs"] for t in sc["targets"]] for job in config["scrape_configs"]
    }
