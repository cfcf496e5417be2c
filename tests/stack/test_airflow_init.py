"""airflow-init, the one-shot job every other Airflow service waits for (service_completed_successfully),
exits non-zero when the metadata database cannot be migrated.

The Airflow image's entrypoint runs `airflow db migrate || true` for _AIRFLOW_DB_MIGRATE, so the job must
not use those variables and must run the steps itself under `set -e`. Its script is taken from the compose
model and run by bash with a stand-in `airflow` first on PATH (the real one needs the image's PostgreSQL):
what is under test is that a failed step ends the job with that step's status and runs nothing after it.
"""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path


def init_script(compose_model: dict) -> tuple[list[str], dict[str, str]]:
    service = compose_model["services"]["airflow-init"]
    # `config` keeps `$$` (a literal dollar) escaped so that its output is valid Compose again; the container
    # gets a single `$`.
    return [arg.replace("$$", "$") for arg in service["command"]], service["environment"]


def run_init(tmp_path: Path, compose_model: dict, failing: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    command, environment = init_script(compose_model)
    calls = tmp_path / "calls"
    airflow = tmp_path / "bin" / "airflow"
    airflow.parent.mkdir()
    airflow.write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> {calls}\n'
        f'case "$*" in "{failing}"*) echo "stand-in: $* failed" >&2; exit 3 ;; esac\n'
    )
    airflow.chmod(airflow.stat().st_mode | stat.S_IEXEC)
    env = {**environment, "PATH": f"{airflow.parent}:{os.environ['PATH']}"}
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60, check=False)
    return result, calls.read_text().splitlines() if calls.exists() else []


def test_the_entrypoints_ignored_steps_are_not_used(compose_model: dict) -> None:
    _, environment = init_script(compose_model)
    assert not {"_AIRFLOW_DB_MIGRATE", "_AIRFLOW_DB_UPGRADE", "_AIRFLOW_WWW_USER_CREATE"} & set(environment)


def test_a_failed_migration_fails_the_init_job_and_creates_no_user(tmp_path: Path, compose_model: dict) -> None:
    result, calls = run_init(tmp_path, compose_model, failing="db migrate")
    assert result.returncode == 3, result.stderr
    assert calls == ["db migrate"]


def test_a_good_run_migrates_then_creates_the_configured_admin(tmp_path: Path, compose_model: dict) -> None:
    result, calls = run_init(tmp_path, compose_model, failing="never")
    assert result.returncode == 0, result.stderr
    assert calls[0] == "db migrate"
    assert calls[1].startswith("users create --role Admin --username admin --password otelmon-dev-admin")
