"""Debian's Chromium (``/usr/bin/chromium``, installed by scripts/setup/system.sh) driven by Playwright.

Playwright never downloads a browser here: it is pointed at the system's. The flags keep Chromium off the
network it would otherwise try at start (updates, sync, QUIC probes), which a closed machine refuses."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

CHROMIUM_ARGS = [
    "--no-sandbox",  # the tests run as root in CI, where Chromium's sandbox refuses to start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    """The system Chromium; a missing one is an error (the browser tests must run, never skip)."""
    found = os.environ.get("OTELMON_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(found).exists():
        raise RuntimeError("Debian's chromium is not installed: run scripts/setup/system.sh as root")
    return found


def launch(playwright):
    return playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, timeout=60_000)
