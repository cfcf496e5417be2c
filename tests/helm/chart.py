"""Runs the real helm on deploy/helm/otelmon and the strict decoder on what it renders."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "deploy" / "helm" / "otelmon"
PRODUCTION_VALUES = CHART / "values-production.yaml"
# The Kubernetes release whose API types tests/helm/decode pins (k8s.io/api v0.37.2): helm renders for it.
KUBE_VERSION = "1.37.2"
RELEASE = "otelmon"
NAMESPACE = "data-platform"
# The one value without a default; "default values" below means the chart's defaults plus this.
DATABASE_URL = "mysql+pymysql://otelmon:db-password-sentinel@mariadb.db.svc:3306/otelmon"
TIMEOUT = 120


@dataclass(frozen=True)
class Tools:
    helm: Path
    decode: Path


def run(args: list[str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, input=stdin, capture_output=True, text=True, timeout=TIMEOUT, check=False)


def helm_args(values_files: tuple[Path, ...] = (), sets: dict[str, Any] | None = None) -> list[str]:
    args = ["--kube-version", KUBE_VERSION]
    for path in values_files:
        args += ["-f", str(path)]
    for key, value in (sets or {}).items():
        args += ["--set-string" if isinstance(value, str) else "--set", f"{key}={value}"]
    return args


def template(tools: Tools, values_files: tuple[Path, ...] = (), sets: dict[str, Any] | None = None
             ) -> subprocess.CompletedProcess[str]:
    return run([str(tools.helm), "template", RELEASE, str(CHART), "--namespace", NAMESPACE,
                *helm_args(values_files, sets)])


@dataclass(frozen=True)
class Rendered:
    text: str
    documents: list[dict[str, Any]]

    def all(self, kind: str) -> list[dict[str, Any]]:
        return [doc for doc in self.documents if doc["kind"] == kind]

    def one(self, kind: str, name: str) -> dict[str, Any]:
        found = [doc for doc in self.all(kind) if doc["metadata"]["name"] == name]
        names = [doc["metadata"]["name"] for doc in self.all(kind)]
        assert len(found) == 1, f"{kind}/{name}: found {len(found)} among {names}"
        return found[0]


def render(tools: Tools, values_files: tuple[Path, ...] = (), sets: dict[str, Any] | None = None) -> Rendered:
    """helm template, then every document decoded strictly into the pinned Kubernetes types (or the test fails)."""
    result = template(tools, values_files, sets)
    assert result.returncode == 0, f"helm template failed:\n{result.stderr}"
    decoded = run([str(tools.decode)], stdin=result.stdout)
    assert decoded.returncode == 0, f"a rendered manifest does not decode strictly:\n{decoded.stderr}"
    documents = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    # The decoder saw exactly the documents the tests look at.
    listed = sorted(decoded.stdout.split("\n")[:-1])
    assert listed == sorted(f"{d['apiVersion']} {d['kind']} {d['metadata']['name']}" for d in documents)
    return Rendered(result.stdout, documents)


def pod_specs(rendered: Rendered) -> dict[str, dict[str, Any]]:
    """Every pod template the chart renders, by "Kind/name"."""
    specs: dict[str, dict[str, Any]] = {}
    for doc in rendered.documents:
        name = f"{doc['kind']}/{doc['metadata']['name']}"
        if doc["kind"] in ("Deployment", "Job"):
            specs[name] = doc["spec"]["template"]["spec"]
        elif doc["kind"] == "CronJob":
            specs[name] = doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return specs
