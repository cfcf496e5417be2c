"""Our Grafana provisioning files use only keys that Grafana's provisioning docs define (tests/stack/schemas).

jsonData and secureJsonData hold per-data-source-type settings and are not checked below their own key.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.stack.config_keys import SCHEMAS, KeySchema, image_tag, read_key_file, unknown_keys
from tests.stack.stack_paths import DATASOURCES, REPO

DASHBOARD_PROVIDERS = REPO / "grafana" / "provisioning" / "dashboards" / "otelmon.yaml"


def _grafana_minor(compose_model: dict) -> str:
    version = image_tag([compose_model["services"]["grafana"]["image"]], "grafana/grafana")
    return ".".join(version.split(".")[:2])


@pytest.fixture(scope="module")
def schemas(compose_model: dict) -> dict[str, KeySchema]:
    minor = _grafana_minor(compose_model)
    keys_file = SCHEMAS / f"grafana-{minor}-provisioning-keys.txt"
    assert keys_file.is_file(), (
        f"no documented provisioning keys for Grafana {minor}: derive {keys_file.name} from that version's "
        "docs/sources/administration/provisioning/index.md (see the header of the current list)"
    )
    return read_key_file(keys_file)


def _load(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def test_the_key_list_is_the_pinned_versions(compose_model: dict) -> None:
    assert _grafana_minor(compose_model) == "12.4", "Grafana was bumped: check provisioning against its docs"


def test_datasources_use_documented_keys(schemas: dict[str, KeySchema]) -> None:
    assert unknown_keys(_load(DATASOURCES), schemas["datasources"]) == []


def test_dashboard_providers_use_documented_keys(schemas: dict[str, KeySchema]) -> None:
    assert unknown_keys(_load(DASHBOARD_PROVIDERS), schemas["dashboards"]) == []


def test_misspelled_keys_are_reported(schemas: dict[str, KeySchema]) -> None:
    datasources = _load(DATASOURCES)
    datasources["datasources"][0]["isDefualt"] = datasources["datasources"][0].pop("isDefault")
    datasources["datasources"][1]["jsonData"]["anyPluginSetting"] = True  # free-form: not reported
    datasources["deleteDatasource"] = [{"name": "Old"}]
    assert unknown_keys(datasources, schemas["datasources"]) == [
        "datasources[].isDefualt",
        "deleteDatasource",
        "deleteDatasource[].name",
    ]
    providers = _load(DASHBOARD_PROVIDERS)
    providers["providers"][0]["options"]["foldersFromFileStructure"] = True
    providers["providers"][0]["folderUID"] = "x"
    assert unknown_keys(providers, schemas["dashboards"]) == [
        "providers[].folderUID",
        "providers[].options.foldersFromFileStructure",
    ]


def test_a_providers_key_is_not_a_datasources_key(schemas: dict[str, KeySchema]) -> None:
    # Grafana reads each provisioning folder for its own kind: a providers list in a datasources file is ignored.
    assert unknown_keys(_load(DASHBOARD_PROVIDERS), schemas["datasources"])[0] == "providers"
