"""The chart's collector runs the stack's own config (configs/otelcol.yaml, linked into the chart) with the API's
in-cluster Service as the errors pipeline's endpoint; the real collector binary accepts what the chart renders."""

from __future__ import annotations

import os
import re
import subprocess
import tarfile
from pathlib import Path

import pytest

from tests.collector.otelcol_process import CONFIG
from tests.helm.chart import CHART, DATABASE_URL, PRODUCTION_VALUES, Rendered, Tools, render, run

COLLECTOR = "otelmon-collector"


@pytest.fixture(scope="module", params=["default", "production"])
def rendered(request: pytest.FixtureRequest, tools: Tools) -> Rendered:
    if request.param == "production":
        return render(tools, (PRODUCTION_VALUES,))
    return render(tools, (), {"database.url": DATABASE_URL})


def _container(rendered: Rendered) -> dict:
    return rendered.one("Deployment", COLLECTOR)["spec"]["template"]["spec"]["containers"][0]


def _env(rendered: Rendered) -> dict[str, dict]:
    return {env["name"]: env for env in _container(rendered)["env"]}


def _config_default(variable: str) -> str:
    found = re.search(r"\$\{env:" + variable + r":-([^}]*)\}", CONFIG.read_text())
    assert found, f"configs/otelcol.yaml reads no {variable}"
    return found.group(1)


def test_the_collector_runs_the_stacks_config_unchanged(rendered: Rendered) -> None:
    # A link, not a copy: the chart cannot drift from the stack's pipelines.
    assert (CHART / "files" / "otelcol.yaml").resolve() == CONFIG.resolve()
    assert rendered.one("ConfigMap", COLLECTOR)["data"]["config.yaml"].strip() == CONFIG.read_text().strip()
    container = _container(rendered)
    mounts = {mount["name"]: mount["mountPath"] for mount in container["volumeMounts"]}
    assert container["args"] == [f"--config={mounts['config']}/config.yaml"]


def test_errors_go_to_the_apis_service(rendered: Rendered) -> None:
    env = _env(rendered)
    service = rendered.one("Service", "otelmon")
    port = service["spec"]["ports"][0]["port"]
    assert env["OTELMON_API_ENDPOINT"]["value"] == f"http://{service['metadata']['name']}:{port}"
    # The token the API requires comes from the same Secret the API reads it from.
    api_secret = [ref["secretRef"]["name"] for ref in
                  rendered.one("Deployment", "otelmon")["spec"]["template"]["spec"]["containers"][0]["envFrom"]
                  if "secretRef" in ref]
    token = env["OTELMON_INGEST_TOKEN"]["valueFrom"]["secretKeyRef"]
    assert [token["name"]] == api_secret and token["key"] == "OTELMON_INGEST_TOKEN"
    # Every variable the chart sets is one the config reads.
    for name in env:
        assert "${env:" + name in CONFIG.read_text(), name


def test_the_queue_and_ports_are_where_the_config_puts_them(rendered: Rendered) -> None:
    container = _container(rendered)
    spec = rendered.one("Deployment", COLLECTOR)["spec"]["template"]["spec"]
    mounts = {mount["name"]: mount["mountPath"] for mount in container["volumeMounts"]}
    assert mounts["queue"] == _env(rendered)["OTELCOL_QUEUE_DIR"]["value"] == _config_default("OTELCOL_QUEUE_DIR")
    assert "emptyDir" in {v["name"]: v for v in spec["volumes"]}["queue"]
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert ports == {
        "otlp-grpc": int(_config_default("OTELCOL_OTLP_GRPC_PORT")),
        "otlp-http": int(_config_default("OTELCOL_OTLP_HTTP_PORT")),
        "span-metrics": int(_config_default("OTELCOL_PROMETHEUS_PORT")),
        "telemetry": int(_config_default("OTELCOL_TELEMETRY_PORT")),
        "health": int(_config_default("OTELCOL_HEALTH_PORT")),
    }
    for probe in ("livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"]["port"] == "health"
    service = rendered.one("Service", COLLECTOR)
    assert {port["name"] for port in service["spec"]["ports"]} <= set(ports)
    deployment = rendered.one("Deployment", COLLECTOR)
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]


def test_the_real_collector_accepts_the_rendered_config(rendered: Rendered, otelcol_binary: Path,
                                                       tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(rendered.one("ConfigMap", COLLECTOR)["data"]["config.yaml"])
    # The pod's environment: the chart's values, the Secret's token, nothing inherited from this shell.
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("OTELCOL_", "OTELMON_", "TEMPO_", "OTEL_"))}
    env |= {name: item["value"] for name, item in _env(rendered).items() if "value" in item}
    env["OTELMON_INGEST_TOKEN"] = "token"
    result = subprocess.run([str(otelcol_binary), "validate", f"--config={config}"], env=env,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr


def test_the_packaged_chart_carries_the_config_itself(tools: Tools, tmp_path: Path) -> None:
    # `helm package` (for a chart repository or an OCI registry) resolves the link into the archive.
    packaged = run([str(tools.helm), "package", str(CHART), "--destination", str(tmp_path)])
    assert packaged.returncode == 0, packaged.stderr
    (archive,) = tmp_path.glob("otelmon-*.tgz")
    with tarfile.open(archive) as tar:
        member = tar.getmember("otelmon/files/otelcol.yaml")
        assert member.isfile()
        assert tar.extractfile(member).read().decode() == CONFIG.read_text()
