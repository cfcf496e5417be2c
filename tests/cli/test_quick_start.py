"""The README's "Quick start without Docker", walked from a fresh virtualenv: install, serve, send, receive."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.harness.api_server import ApiServer

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
# What the test does, step by step, as the README spells it (the test's own port replaces 8090).
STEPS = [
    "python3 -m venv .venv",
    "pip install .",
    "cp .env.example .env",
    "otelmon serve",
    "otelmon send-test-failure --endpoint http://127.0.0.1:8090",
]


def quick_start_commands() -> list[str]:
    section = README.read_text().split("### Quick start without Docker", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)
    return [line.split("#", 1)[0].strip() for block in blocks for line in block.splitlines() if line.strip()]


def test_the_readme_lists_the_steps_walked_here_in_order():
    commands = quick_start_commands()
    positions = [next((i for i, c in enumerate(commands) if c.startswith(step)), None) for step in STEPS]
    assert None not in positions, dict(zip(STEPS, positions, strict=True))
    assert positions == sorted(positions)


@pytest.mark.timeout(600)
def test_quick_start_without_docker_from_a_fresh_venv(tmp_path, smtp_sink):
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/root")}
    venv = tmp_path / ".venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    installed = subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", str(REPO)], env=env,
                               capture_output=True, text=True, timeout=480)
    assert installed.returncode == 0, installed.stdout + installed.stderr

    # cp .env.example .env, then the recipients filled in (the rest stays as the file has it).
    work = tmp_path / "work"
    work.mkdir()
    dotenv = (REPO / ".env.example").read_text().replace(
        "\nOTELMON_ALERT_RECIPIENTS=\n", "\nOTELMON_ALERT_RECIPIENTS=team@example.com\n")
    assert "OTELMON_ALERT_RECIPIENTS=team@example.com" in dotenv
    (work / ".env").write_text(dotenv)
    # The mail server: the loopback SMTP sink in place of Mailpit (the environment wins over .env).
    server_env = {"OTELMON_SMTP_PORT": str(smtp_sink.port)}
    otelmon = str(venv / "bin" / "otelmon")
    api = ApiServer(server_env, cwd=work, clean_env=True, command=[otelmon]).start()
    try:
        for _ in range(2):
            sent = subprocess.run([otelmon, "send-test-failure", "--endpoint", api.url], cwd=work, env=env,
                                  capture_output=True, text=True, timeout=60)
            assert sent.returncode == 0, sent.stdout + sent.stderr
        first, second = smtp_sink.wait_for(2, timeout=60)
    finally:
        api.stop()
    assert first.rcpt_tos == second.rcpt_tos == ["team@example.com"]
    assert "otelmon_smoke_test" in first.message["Subject"]
    assert (work / "otelmon.db").exists()
    assert f"database: SQLite file {work / 'otelmon.db'}" in api.logs()
