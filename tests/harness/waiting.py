"""Waiting for an observable condition with a deadline (never a fixed sleep)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from typing import TypeVar

import httpx

T = TypeVar("T")


def wait_until(check: Callable[[], T], timeout: float = 20, interval: float = 0.05, what: str = "condition") -> T:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def wait_until_serving(
    process: subprocess.Popen | None, probe: Callable[[], bool], timeout: float, name: str, logs: Callable[[], str]
) -> None:
    """Poll ``probe`` (true once the server answers) for a server started as ``process``; fail at once, with
    the server's log, if it exits, and with the log too if it is not serving within ``timeout``."""

    def serving() -> bool:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode} during start-up:\n{logs()}")
        return probe()

    try:
        wait_until(serving, timeout, interval=0.1, what=f"{name} to serve")
    except AssertionError:
        raise RuntimeError(f"{name} not ready after {timeout}s:\n{logs()}") from None


def answers_ok(url: str) -> bool:
    """A readiness probe: ``url`` answers 200 (a refused or broken connection is "not yet")."""
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.TransportError:
        return False
