"""The `host` profile's configs: blackbox_exporter's modules use only keys its pinned version documents (it
cannot be built here: its Go module is not served by the proxy), and Prometheus's host jobs (configs/prometheus/
host-scrape.yml, loaded by configs/prometheus.yml) probe the stack's own endpoints and find every exporter by
DNS, so that with the profile off they have no target. promtool checks the loaded file in test_prometheus.py.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import yaml

from tests.stack.config_keys import SCHEMAS, KeySchema, image_tag, read_key_file, unknown_keys
from tests.stack.stack_paths import PROMETHEUS_CONFIG, REPO

BLACKBOX_CONFIG = REPO / "configs" / "blackbox.yml"
HOST_SCRAPE = REPO / "configs" / "prometheus" / "host-scrape.yml"
# What each probe must reach: the endpoint the service's own healthcheck or readiness uses.
PROBED = {
    "http://otelmon-api:8090/healthz",
    "http://grafana:3000/api/health",
    "http://prometheus:9090/-/ready",
    "http://mailpit:8025/readyz",
    "http://tempo:3200/ready",
}


@pytest.fixture(scope="module")
def blackbox_schema(compose_model_all: dict) -> dict[str, KeySchema]:
    images = [s["image"] for s in compose_model_all["services"].values() if "image" in s]
    version = image_tag(images, "prom/blackbox-exporter").removeprefix("v")
    key_file = SCHEMAS / f"blackbox_exporter-{version}-config-keys.txt"
    assert key_file.is_file(), f"no key list for blackbox_exporter {version}: derive {key_file.name} as 0.28.0's"
    return read_key_file(key_file)


def scrape_jobs() -> dict[str, dict]:
    return {job["job_name"]: job for job in yaml.safe_load(HOST_SCRAPE.read_text())["scrape_configs"]}


def test_every_module_key_is_documented(blackbox_schema: dict[str, KeySchema]) -> None:
    modules = yaml.safe_load(BLACKBOX_CONFIG.read_text())["modules"]
    assert modules
    for name, module in modules.items():
        assert unknown_keys(module, blackbox_schema["module"]) == [], name
        # Only the HTTP prober's keys are listed: another prober needs its section first.
        assert module["prober"] == "http", name
        assert unknown_keys(module.get("http", {}), blackbox_schema["http_probe"]) == [], name


def test_a_misspelled_module_key_is_reported(blackbox_schema: dict[str, KeySchema]) -> None:
    assert unknown_keys({"prober": "http", "timout": "5s"}, blackbox_schema["module"]) == ["timout"]
    assert unknown_keys({"methods": "GET"}, blackbox_schema["http_probe"]) == ["methods"]


def test_prometheus_loads_the_host_jobs() -> None:
    loaded = yaml.safe_load(PROMETHEUS_CONFIG.read_text())["scrape_config_files"]
    assert [PROMETHEUS_CONFIG.parent / path for path in loaded] == [HOST_SCRAPE]


def test_the_probes_reach_the_stack_endpoints_through_a_module_that_exists(compose_model_all: dict) -> None:
    modules = set(yaml.safe_load(BLACKBOX_CONFIG.read_text())["modules"])
    probes = [job for job in scrape_jobs().values() if job.get("metrics_path") == "/probe"]
    assert {target for job in probes for target in job["params"]["target"]} == PROBED
    for job in probes:
        assert set(job["params"]["module"]) <= modules, job["job_name"]
        (target,) = job["params"]["target"]
        assert urlsplit(target).hostname in compose_model_all["services"], target


def test_every_host_job_finds_its_exporter_by_dns_only(compose_model_all: dict) -> None:
    services = compose_model_all["services"]
    for name, job in scrape_jobs().items():
        assert "static_configs" not in job, f"{name}: a static target is down whenever the profile is off"
        (sd,) = job["dns_sd_configs"]
        (host,) = sd["names"]
        assert services[host]["profiles"] == ["host"], name
        assert sd["type"] == "A"
