"""scripts/smoke.sh --no-up checks the running stack instead of assuming it is healthy.

No Docker engine runs here, so ``docker`` is a stand-in on PATH that answers the two questions the
script asks Compose (``config --services`` and ``ps --all --format``) from canned states; the script's
other checks need the real stack and run in the hosted-CI workflow.
"""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

from tests.stack.stack_paths import REPO

SERVICES = ["airflow-init", "mailpit", "otelmon-api", "tempo"]
HEALTHY = {
    "airflow-init": "exited||0",
    "mailpit": "running|healthy|0",
    "otelmon-api": "running|healthy|0",
    "tempo": "running|healthy|0",
}


def run_smoke(tmp_path: Path, states: dict[str, str]) -> subprocess.CompletedProcess[str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (tmp_path / "services").write_text("\n".join(SERVICES) + "\n")
    (tmp_path / "ps").write_text("".join(f"{name}|{state}\n" for name, state in states.items()))
    docker = bin_dir / "docker"
    docker.write_text(
        "#!/bin/sh\n"
        'case "$*" in\n'
        f'  "compose config --services") cat {tmp_path / "services"} ;;\n'
        f'  "compose ps --all --format"*) cat {tmp_path / "ps"} ;;\n'
        '  *) echo "stand-in docker: unexpected call: $*" >&2; exit 99 ;;\n'
        "esac\n"
    )
    docker.chmod(docker.stat().st_mode | stat.S_IEXEC)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    return subprocess.run(
        ["bash", str(REPO / "scripts" / "smoke.sh"), "--no-up"],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip


def test_an_unhealthy_service_fails_the_smoke_test(tmp_path: Path) -> None:
    result = run_smoke(tmp_path, {**HEALTHY, "tempo": "running|unhealthy|0"})
    assert result.returncode == 1
    assert "tempo is running, unhealthy" in result.stderr
    assert "every service healthy" not in result.stdout


def test_a_failed_init_job_and_a_missing_container_fail_the_smoke_test(tmp_path: Path) -> None:
    states = {**HEALTHY, "airflow-init": "exited||1"}
    del states["mailpit"]
    result = run_smoke(tmp_path, states)
    assert result.returncode == 1
    assert "airflow-init is exited, exit 1" in result.stderr
    assert "mailpit has no container" in result.stderr


def test_a_healthy_stack_passes_the_service_check(tmp_path: Path) -> None:
    result = run_smoke(tmp_path, HEALTHY)
    # Past the service check the script calls the real services, which the stand-in does not provide.
    assert "smoke: ok: every service healthy (4 services)" in result.stdout, result.stderr
