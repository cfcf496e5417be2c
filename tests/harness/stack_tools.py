"""The stack's programs the tests run for real, at the versions docker-compose.yaml pins.

scripts/setup/stack_tools.sh builds them from Go modules (cached per version) and scripts/test.sh exports
their paths. A missing one fails the test that needs it, with the command that provides it: never a skip.
"""

from __future__ import annotations

import os
from pathlib import Path

SETUP_HINT = "run scripts/test.sh, or export the paths printed by scripts/setup/stack_tools.sh"


def stack_tool(variable: str) -> str:
    path = os.environ.get(variable)
    if not path:
        raise RuntimeError(f"${variable} is not set: {SETUP_HINT}")
    if not os.access(path, os.X_OK) or not Path(path).is_file():
        raise RuntimeError(f"${variable}={path} is not an executable file: {SETUP_HINT}")
    return path


def prometheus() -> str:
    return stack_tool("OTELMON_PROMETHEUS_BIN")


def promtool() -> str:
    return stack_tool("OTELMON_PROMTOOL_BIN")


def mailpit() -> str:
    return stack_tool("OTELMON_MAILPIT_BIN")


def actionlint() -> str:
    return stack_tool("OTELMON_ACTIONLINT_BIN")


def alertmanager() -> str:
    return stack_tool("OTELMON_ALERTMANAGER_BIN")


def amtool() -> str:
    return stack_tool("OTELMON_AMTOOL_BIN")

