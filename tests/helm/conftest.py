"""The chart's tools: helm at the pinned release and the strict manifest decoder (tests/helm/decode), both built
from Go modules by scripts/setup/helm.sh. scripts/test.sh exports their paths; without them this builds them
(minutes when cold). A missing or broken tool fails the tests: it never skips them.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

# The stack's collector binary (scripts/setup/collector.sh) validates the chart's collector config.
from tests.collector.conftest import otelcol_binary  # noqa: F401
from tests.helm.chart import REPO, Tools

SETUP_SCRIPT = REPO / "scripts" / "setup" / "helm.sh"
BUILD_TIMEOUT = 2400


def _from_setup_script() -> dict[str, str]:
    try:
        result = subprocess.run(["bash", str(SETUP_SCRIPT)], capture_output=True, text=True,
                                timeout=BUILD_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{SETUP_SCRIPT} did not finish within {BUILD_TIMEOUT}s")
    if result.returncode != 0:
        pytest.fail(f"{SETUP_SCRIPT} failed ({result.returncode}):\n{result.stderr[-4000:]}")
    return dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)


@pytest.fixture(scope="session")
def tools() -> Tools:
    names = ("OTELMON_HELM_BIN", "OTELMON_HELM_DECODE_BIN")
    paths = {name: os.environ.get(name, "") for name in names}
    if not all(paths.values()):
        paths = _from_setup_script()
    for name in names:
        path = Path(paths.get(name, ""))
        if not (path.is_file() and os.access(path, os.X_OK)):
            pytest.fail(f"{name}: no executable at '{path}'")
    return Tools(helm=Path(paths["OTELMON_HELM_BIN"]), decode=Path(paths["OTELMON_HELM_DECODE_BIN"]))
