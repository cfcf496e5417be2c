"""The images built by the stack: their COPY sources exist and their ``pip install`` lines resolve.

``pip install --dry-run`` runs the resolver against PyPI with the same requirements the Dockerfile
names, for the Python the image runs, with the repository built into a wheel as the image builds it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.stack.dockerfiles import copy_sources, pip_install_args
from tests.stack.stack_paths import REPO

BUILT = ("otelmon-api", "airflow-apiserver", "nifi")
# The Python each image installs into. api and airflow: the base image's tag says so (python3.11,
# the interpreter this suite runs). nifi: apache/nifi:1.28.1 is built on eclipse-temurin 21 (Ubuntu
# 24.04), whose python3 is 3.12; the dry run resolves for 3.12 with wheels only, as pip in the
# image would find them.
IMAGE_PYTHON = {"otelmon-api": None, "airflow-apiserver": None, "nifi": "3.12"}
# Paths the Dockerfiles copy the repository's package from.
PACKAGE_PATHS = {"/opt/otelmon-src", "/opt/otelmon/src"}


@pytest.fixture(scope="module")
def otelmon_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(out), str(REPO)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, f"the package does not build as the images build it:\n{result.stderr}"
    (wheel,) = out.glob("otelmon-*.whl")
    return wheel


@pytest.mark.parametrize("service", BUILT)
def test_copy_sources_exist(compose_model: dict, service: str) -> None:
    build = compose_model["services"][service]["build"]
    context = Path(build["context"])
    sources = copy_sources(build)
    assert sources
    for source in sources:
        assert (context / source).exists(), f"{service}: COPY {source} — not in the build context"


def test_local_python_matches_the_images() -> None:
    assert sys.version_info[:2] == (3, 11), "api and airflow images run Python 3.11: run this suite on 3.11"


@pytest.mark.slow
@pytest.mark.parametrize("service", BUILT)
def test_pip_install_lines_resolve(compose_model: dict, service: str, otelmon_wheel: Path, tmp_path: Path) -> None:
    installs = pip_install_args(compose_model["services"][service]["build"])
    assert installs, f"{service}: no pip install in its Dockerfile"
    for args in installs:
        requirements = [str(otelmon_wheel) if a in PACKAGE_PATHS else a for a in args]
        assert str(otelmon_wheel) in requirements, f"{service}: pip install does not install the repository"
        report = tmp_path / "report.json"
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--dry-run",
            "--ignore-installed",
            "--quiet",
            "--disable-pip-version-check",
            "--report",
            str(report),
        ]
        if IMAGE_PYTHON[service]:
            cmd += ["--python-version", IMAGE_PYTHON[service], "--only-binary=:all:"]
        result = subprocess.run([*cmd, *requirements], capture_output=True, text=True, timeout=900, check=False)
        assert result.returncode == 0, f"{service}: pip could not resolve {args}:\n{result.stderr[-4000:]}"
        resolved = {item["metadata"]["name"].lower() for item in json.loads(report.read_text())["install"]}
        assert "otelmon" in resolved
        if service.startswith("airflow"):
            assert "apache-airflow" in resolved
