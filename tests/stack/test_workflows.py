"""The hosted-CI workflow (.github/workflows/stack.yml): the one place the images are built and the stack
runs (no Docker engine runs here). It cannot run here, so it is linted by the real actionlint and its
steps are checked for what the stack promises: `docker compose up -d --wait`, the smoke test, logs on
failure, `down -v` always, and the README's test command."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from tests.harness import stack_tools
from tests.stack.stack_paths import REPO

WORKFLOWS = REPO / ".github" / "workflows"
STACK = WORKFLOWS / "stack.yml"


def steps(job: str) -> list[dict]:
    return yaml.safe_load(STACK.read_text())["jobs"][job]["steps"]


def runs(job: str) -> list[str]:
    return [step.get("run", "") for step in steps(job)]


def test_actionlint_passes_every_workflow() -> None:
    files = sorted(str(p) for p in WORKFLOWS.glob("*.y*ml"))
    assert files, "no workflow in .github/workflows"
    done = subprocess.run([stack_tools.actionlint(), "-no-color", *files], capture_output=True, text=True,
                          timeout=120, check=False, cwd=REPO)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_stack_job_starts_the_stack_as_the_readme_does_then_smoke_tests_it() -> None:
    commands = runs("stack")
    up = next(i for i, run in enumerate(commands) if run.startswith("docker compose up -d --wait"))
    smoke = next(i for i, run in enumerate(commands) if "scripts/smoke.sh --no-up" in run)
    assert up < smoke
    readme_first_command = (REPO / "README.md").read_text().split("```sh\n", 1)[1].splitlines()[0].split("#")[0]
    assert commands[up].strip() == readme_first_command.strip()


def test_the_stack_job_shows_logs_on_failure_and_always_cleans_up() -> None:
    by_condition = {step.get("if"): step.get("run", "") for step in steps("stack")}
    assert "docker compose logs" in by_condition["failure()"]
    assert "docker compose down -v" in by_condition["always()"]


def test_the_tests_job_runs_the_readme_test_command() -> None:
    readme_second_command = (REPO / "README.md").read_text().split("```sh\n", 1)[1].splitlines()[1].split("#")[0]
    assert any(readme_second_command.strip() in run for run in runs("tests"))


def test_every_job_has_a_timeout() -> None:
    for name, job in yaml.safe_load(STACK.read_text())["jobs"].items():
        assert job.get("timeout-minutes"), name
    assert Path(STACK).is_file()


def test_the_stack_job_smoke_tests_the_logs_profile() -> None:
    commands = runs("stack")
    up = next(i for i, run in enumerate(commands) if "docker compose --profile logs up -d --wait" in run)
    assert "scripts/smoke_logs.sh" in commands[up]
    assert commands[up].index("up -d --wait") < commands[up].index("scripts/smoke_logs.sh")
