"""Mailpit, the stack's alert inbox, at the version the stack pins, on loopback ports.

The end-to-end tests send their alerts to it as the stack does, and read them back through Mailpit's own
HTTP API (``/api/v1/messages``, ``/api/v1/message/{id}/raw``), as a person would see them in its inbox.
"""

from __future__ import annotations

import subprocess
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import httpx

from tests.harness import stack_tools
from tests.harness.ports import free_port
from tests.harness.waiting import answers_ok, wait_until, wait_until_serving


class Mailpit:
    def __init__(self, base_dir: Path, webroot: str = "/") -> None:
        self.base_dir = base_dir
        # The path Mailpit serves under (the stack's MP_WEBROOT): /mailpit/ behind the `proxy` profile.
        self.webroot = webroot
        self.smtp_port = free_port()
        self.http_port = free_port()
        self.url = f"http://127.0.0.1:{self.http_port}"
        self.log = base_dir / "mailpit.log"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 30) -> Mailpit:
        self.base_dir.mkdir(parents=True, exist_ok=True)
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [stack_tools.mailpit(), "--smtp", f"127.0.0.1:{self.smtp_port}",
                 "--listen", f"127.0.0.1:{self.http_port}", "--database", str(self.base_dir / "mailpit.db"),
                 # As the stack runs it (MP_SMTP_AUTH_*), and never asking GitHub for a newer release.
                 "--smtp-auth-accept-any", "--smtp-auth-allow-insecure", "--disable-version-check",
                 "--webroot", self.webroot],
                stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        ready = f"{self.url}{self.webroot}readyz"
        wait_until_serving(self.process, lambda: answers_ok(ready), timeout, "mailpit", self.log_tail)
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""

    def info(self) -> dict:
        return httpx.get(f"{self.url}/api/v1/info", timeout=10).raise_for_status().json()

    def summaries(self) -> list[dict]:
        """Every message in the inbox, newest first, as Mailpit's API lists them."""
        answer = httpx.get(f"{self.url}/api/v1/messages", params={"limit": 1000}, timeout=10).raise_for_status()
        return answer.json()["messages"]

    def message(self, summary: dict) -> EmailMessage:
        raw = httpx.get(f"{self.url}/api/v1/message/{summary['ID']}/raw", timeout=10).raise_for_status().content
        return message_from_bytes(raw, policy=policy.default)

    def wait_for(self, count: int, timeout: float = 30) -> list[dict]:
        def arrived() -> list[dict] | None:
            got = self.summaries()
            return got if len(got) >= count else None

        return wait_until(arrived, timeout, interval=0.2, what=f"{count} message(s) in Mailpit")
