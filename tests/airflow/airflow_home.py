"""An isolated Airflow installation for one test session: its own AIRFLOW_HOME, SQLite metadata database,
DAGs folder and cluster policy, driven through the Airflow venv made by ``scripts/setup/airflow.sh``.

Airflow cannot share the main venv (apache-airflow 3.3.2 requires fastapi<0.137, the API runs a newer
one), so everything Airflow runs in a child process with that venv's python; the tests themselves stay in
the main venv, next to the OtelMon API fixtures.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RUNNER = Path(__file__).with_name("run_dags.py")
TEST_DAGS = Path(__file__).with_name("dags")
EXAMPLE_DAGS = REPO / "airflow" / "dags"
POLICY = REPO / "airflow" / "airflow_local_settings.py"
PYTHON_ENV = "OTELMON_AIRFLOW_PYTHON"
DEFAULT_PYTHON = REPO / ".venv-airflow" / "bin" / "python"

_MIGRATE_TIMEOUT = 300
# Variables of the calling shell that would leak into the child's Airflow or OTel configuration.
_FOREIGN_PREFIXES = ("AIRFLOW", "OTEL_", "OTELMON_", "_AIRFLOW")


class AirflowUnavailable(RuntimeError):
    pass


def airflow_python() -> Path:
    python = Path(os.environ.get(PYTHON_ENV) or DEFAULT_PYTHON)
    if not python.exists():
        raise AirflowUnavailable(f"no Airflow venv at {python}: run scripts/setup/airflow.sh (or set {PYTHON_ENV})")
    return python


@dataclass
class AirflowHome:
    path: Path
    python: Path

    @classmethod
    def create(cls, path: Path, dag_files: Iterable[Path], policy: bool = True) -> AirflowHome:
        home = cls(path, airflow_python())
        (path / "dags").mkdir(parents=True)
        (path / "config").mkdir()
        for dag_file in dag_files:
            shutil.copy(dag_file, path / "dags" / dag_file.name)
        if policy:  # where the compose image puts it: $AIRFLOW_HOME/config is on Airflow's sys.path
            shutil.copy(POLICY, path / "config" / POLICY.name)
        home._check([str(home.python), "-m", "airflow", "db", "migrate"], _MIGRATE_TIMEOUT, "airflow db migrate")
        return home

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith(_FOREIGN_PREFIXES)}
        return {
            **base,
            "AIRFLOW_HOME": str(self.path),
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.path / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            # The stack keeps Airflow's native OTel traces off (see otelmon.instrument.airflow); so do tests.
            "AIRFLOW__TRACES__OTEL_ON": "False",
            **(extra or {}),
        }

    def run_dags(self, runs: list[dict], extra_env: Mapping[str, str], timeout: float = 300) -> list[dict]:
        """Run ``runs`` (``{"dag_id": ..., "conf": {...}}``) in one child process; their results, in order."""
        out = self.path / f"result-{len(list(self.path.glob('result-*')))}.json"
        self._check([str(self.python), str(RUNNER), str(out), json.dumps(runs)], timeout, "dag.test()", extra_env)
        return json.loads(out.read_text())

    def _check(self, cmd: list[str], timeout: float, what: str, extra: Mapping[str, str] | None = None) -> None:
        log = self.path / "child.log"
        with log.open("ab") as sink:
            try:
                done = subprocess.run(cmd, env=self.env(extra), stdout=sink, stderr=subprocess.STDOUT,
                                      timeout=timeout, check=False)
            except subprocess.TimeoutExpired:
                raise AirflowUnavailable(f"{what} did not finish in {timeout}s; log: {log}\n{_tail(log)}") from None
        if done.returncode != 0:
            raise AirflowUnavailable(f"{what} exited with {done.returncode}; log: {log}\n{_tail(log)}")


def _tail(log: Path, lines: int = 60) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
