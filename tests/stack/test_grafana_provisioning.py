"""Grafana's provisioning: fixed datasource uids, and dashboards that only name those."""

from __future__ import annotations

import json

import yaml

from tests.stack.grafana_queries import dashboards, datasource_uids
from tests.stack.stack_paths import DATASOURCES, REPO

EXPECTED = {"prometheus": "prometheus", "tempo": "tempo", "mariadb": "mysql", "loki": "loki"}


def _datasources() -> list[dict]:
    return yaml.safe_load(DATASOURCES.read_text())["datasources"]


def test_datasources_have_the_fixed_uids() -> None:
    assert {d["uid"]: d["type"] for d in _datasources()} == EXPECTED


def test_datasources_point_at_the_compose_services() -> None:
    urls = {d["uid"]: d["url"] for d in _datasources()}
    assert urls == {"prometheus": "http://prometheus:9090", "tempo": "http://tempo:3200", "mariadb": "mariadb:3306",
                    "loki": "http://loki:3100"}


def test_mariadb_datasource_uses_the_read_only_user_from_the_environment() -> None:
    (maria,) = [d for d in _datasources() if d["uid"] == "mariadb"]
    assert maria["user"] == "${GRAFANA_DB_USER}"
    assert maria["secureJsonData"]["password"] == "${GRAFANA_DB_PASSWORD}"
    assert maria["jsonData"]["database"] == "otelmon"


def test_traces_and_metrics_link_to_each_other() -> None:
    by_uid = {d["uid"]: d for d in _datasources()}
    assert by_uid["tempo"]["jsonData"]["tracesToMetrics"]["datasourceUid"] == "prometheus"
    destinations = by_uid["prometheus"]["jsonData"]["exemplarTraceIdDestinations"]
    assert [d["datasourceUid"] for d in destinations] == ["tempo"]


def test_dashboards_reference_only_provisioned_datasources() -> None:
    provisioned = {d["uid"] for d in _datasources()}
    for name, board in dashboards().items():
        used = datasource_uids(board)
        assert used, f"{name} uses no datasource"
        assert used <= provisioned, f"{name} names unknown datasources {used - provisioned}"


def test_dashboards_are_unique_and_findable() -> None:
    boards = dashboards()
    uids = [b["uid"] for b in boards.values()]
    assert len(set(uids)) == len(uids)
    assert {"otelmon-pipeline-overview", "otelmon-failures", "otelmon-health"} <= set(uids)
    for board in boards.values():
        assert "otelmon" in board["tags"]
        ids = [p["id"] for p in board["panels"]]
        assert len(set(ids)) == len(ids), f"{board['uid']}: duplicate panel ids"


def test_trace_links_open_tempo_in_explore() -> None:
    text = json.dumps(dashboards())
    assert text.count("/explore?schemaVersion=1&panes=") >= 3
    assert "%22datasource%22%3A%22tempo%22" in text


def test_dashboard_provider_path_matches_the_compose_mount() -> None:
    provider = yaml.safe_load((REPO / "grafana/provisioning/dashboards/otelmon.yaml").read_text())["providers"][0]
    compose = (REPO / "docker-compose.yaml").read_text()
    assert f"./grafana/dashboards:{provider['options']['path']}:ro" in compose
    assert f"GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH: {provider['options']['path']}/pipeline-overview.json" in compose


def test_provisioning_mounts_keep_the_images_own_folders(compose_model: dict) -> None:
    # A mount over /etc/grafana/provisioning hides the image's alerting/, plugins/, ... folders and Grafana
    # logs an error for each at every start: each of our folders is mounted on its own.
    targets = {volume["target"]: volume for volume in compose_model["services"]["grafana"]["volumes"]}
    assert "/etc/grafana/provisioning" not in targets
    for folder in sorted(p for p in (REPO / "grafana" / "provisioning").iterdir() if p.is_dir()):
        volume = targets.get(f"/etc/grafana/provisioning/{folder.name}")
        assert volume is not None, f"grafana/provisioning/{folder.name} is not mounted"
        assert volume["source"] == str(folder) and volume.get("read_only") is True
