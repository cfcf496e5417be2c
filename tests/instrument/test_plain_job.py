"""A plain Python job, run as its own process exactly as the README shows it, reporting through OTLP to a real
``otelmon serve`` (SQLite, then MariaDB) that alerts by email: one exception is one failure."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.harness.api_server import ApiServer
from tests.harness.otlp_sinks import HttpTraceSink
from tests.harness.smtp import SmtpSink

README = Path(__file__).resolve().parents[2] / "README.md"
TEAM = "data-team@example.com"


def readme_example() -> str:
    """The code block that follows the README's ``<!-- example: plain-python-job`` marker."""
    text = README.read_text(encoding="utf-8")
    found = re.search(r"<!-- example: plain-python-job.*?-->\s*```python\n(.*?)```", text, flags=re.DOTALL)
    assert found, "README lost its plain Python job example"
    return found.group(1)


def job_env(endpoint: str, **extra: str) -> dict[str, str]:
    """The caller's environment without any OTel or OtelMon setting, so only what a test gives applies."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("OTELMON_", "OTEL_"))}
    return {**base, "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, **extra}


def run_job(script: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(script)], cwd=script.parent, env=env, capture_output=True,
                          text=True, timeout=60, check=False)


def frames(stacktrace: str) -> list[str]:
    return re.findall(r'^\s*File "([^"]+)"', stacktrace, flags=re.MULTILINE)


@pytest.fixture
def api(database_url: str, smtp_sink: SmtpSink, start_api: Callable[..., ApiServer]) -> ApiServer:
    return start_api({
        "OTELMON_DATABASE_URL": database_url,
        "OTELMON_SMTP_HOST": "127.0.0.1",
        "OTELMON_SMTP_PORT": str(smtp_sink.port),
        "OTELMON_SMTP_MAIL_FROM": "otelmon@example.com",
        "OTELMON_ALERT_RECIPIENTS": TEAM,
        "OTELMON_ALERT_GROUP_WAIT_SECONDS": "0.3",
        "OTELMON_ALERT_POLL_SECONDS": "0.2",
    })


@pytest.fixture
def sink(api: ApiServer) -> Iterator[HttpTraceSink]:
    """Between the job and the API, as the collector is: keeps each span it forwards."""
    sink = HttpTraceSink(forward_to=api.url).start()
    yield sink
    sink.stop()


def failures(api: ApiServer) -> list[dict]:
    return httpx.get(f"{api.url}/api/v1/failures", params={"limit": 100}, timeout=10).raise_for_status().json()["items"]


def test_readme_example_is_one_failure_named_as_configured_with_the_step_as_its_cause(
        api, sink, smtp_sink, database_url, tmp_path):
    script = tmp_path / "nightly_billing.py"
    script.write_text(readme_example(), encoding="utf-8")

    done = run_job(script, job_env(sink.url, OTELMON_RUN_ID="2026-12-01"))
    assert done.returncode == 1 and "ValueError: bad row 2: 'x' is not a number" in done.stderr
    # The sink answers only after the API did: once both spans are here, the API has stored what it keeps.
    spans = sink.received.wait_for(lambda got: len(got) >= 2, 30, "the job's two spans")
    assert sorted(span.name for span in spans) == ["load", "validate"]

    [row] = failures(api)
    assert (row["platform"], row["group"], row["process"], row["run_id"], row["try_number"]) == (
        "cron", "nightly_billing", "load", "2026-12-01", 1)
    assert (row["span_name"], row["error_type"]) == ("load", "ValueError")
    detail = httpx.get(f"{api.url}/api/v1/failures/{row['id']}", timeout=10).raise_for_status().json()
    assert frames(detail["stacktrace"]) == [str(script)]  # the user's code only, not OtelMon's wrapper

    (mail,) = smtp_sink.wait_for(1)
    assert mail.message["Subject"] == "[OtelMon] FAILED cron / nightly_billing / load"
    plain = mail.message.get_body(("plain",)).get_content()
    head, causes = plain.split("Inner causes in this trace:")
    assert frames(head) == [str(script)]
    assert "- nightly_billing / load › validate: ValueError: bad row 2: 'x' is not a number" in causes
    html = mail.message.get_body(("html",)).get_content()
    assert "1 more failing step in this trace" in html and "load › validate" in html

    digest = subprocess.run(
        [sys.executable, "-m", "otelmon.cli", "digest", "--dry-run"], capture_output=True, text=True, timeout=60,
        env={**job_env(sink.url), "OTELMON_DATABASE_URL": database_url, "OTELMON_DIGEST_RECIPIENTS": TEAM},
        check=False)
    assert digest.returncode == 0, digest.stderr
    assert re.search(r"Digest: 1 new failure\b", digest.stdout), digest.stdout


def test_a_job_that_says_nothing_about_itself_is_named_after_its_script_function_and_process(
        api, sink, tmp_path):
    script = tmp_path / "cleanup_exports.py"
    script.write_text(
        "import trace_log\n"
        "\n"
        "@trace_log.traced\n"
        "def purge():\n"
        "    with trace_log.step('list'):\n"
        "        raise PermissionError('export dir not writable')\n"
        "\n"
        "try:\n"
        "    purge()\n"
        "except PermissionError:\n"
        "    pass\n"
        "with trace_log.step('archive'):  # no traced function around it: a try of its own\n"
        "    raise OSError('disk full')\n",
        encoding="utf-8")
    done = run_job(script, job_env(sink.url))
    assert done.returncode == 1 and "OSError: disk full" in done.stderr
    sink.received.wait_for(lambda got: len(got) >= 3, 30, "the job's three spans")

    rows = sorted(failures(api), key=lambda row: row["process"])
    assert [(row["platform"], row["group"], row["process"], row["try_number"]) for row in rows] == [
        ("python", "cleanup_exports", "archive", 1), ("python", "cleanup_exports", "purge", 1)]
    assert rows[0]["run_id"] == rows[1]["run_id"] and re.fullmatch(r"\d{8}T\d{6}Z-\d+-[0-9a-f]{6}", rows[0]["run_id"])


def test_the_last_lines_a_failing_job_logged_reach_the_api_and_the_email_masked_and_escaped(
        api, sink, smtp_sink, tmp_path):
    script = tmp_path / "nightly_load.py"
    script.write_text(
        "import logging\n"
        "import trace_log\n"
        "\n"
        "logging.basicConfig(level=logging.INFO, format='%(levelname)s %(name)s: %(message)s')\n"
        "log = logging.getLogger('billing')\n"
        "\n"
        "@trace_log.traced(platform='cron', process='load')\n"
        "def load():\n"
        "    log.info('starting the load')\n"
        "    log.info('connecting to postgresql://etl:s3cr3t@db.internal:5432/sales')\n"
        "    log.warning('login with password=hunter2 refused once, retrying')\n"
        "    log.error('row 7: <script>alert(1)</script> & more')\n"
        "    raise RuntimeError('load failed')\n"
        "\n"
        "log.info('before any try')\n"
        "load()\n",
        encoding="utf-8")
    done = run_job(script, job_env(sink.url))
    assert done.returncode == 1 and "RuntimeError: load failed" in done.stderr
    assert "password=hunter2" in done.stderr  # the job's own log is the job's business; only ours is masked
    sink.received.wait_for(lambda got: len(got) >= 1, 30, "the job's span")

    [row] = failures(api)
    assert "log_tail" not in row  # the list stays small
    detail = httpx.get(f"{api.url}/api/v1/failures/{row['id']}", timeout=10).raise_for_status().json()
    messages = [line.split(": ", 1)[1] for line in detail["log_tail"]]
    assert messages == [
        "starting the load",
        "connecting to postgresql://etl:***@db.internal:5432/sales",
        "login with password=*** refused once, retrying",
        "row 7: <script>alert(1)</script> & more",
    ]
    assert detail["log_tail"][2].endswith("Z WARNING billing: login with password=*** refused once, retrying")

    (mail,) = smtp_sink.wait_for(1)
    plain = mail.message.get_body(("plain",)).get_content()
    html = mail.message.get_body(("html",)).get_content()
    for body in (plain, html):
        assert "hunter2" not in body and "s3cr3t" not in body and "before any try" not in body
        assert "Last log lines" in body
    error_at, tail_at = plain.index("RuntimeError: load failed"), plain.index("Last log lines:")
    assert error_at < tail_at < plain.index("Platform:")  # under the error
    assert "password=*** refused once" in plain and "row 7: <script>alert(1)</script> & more" in plain
    assert "row 7: &lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in html and "<script>" not in html
    assert "postgresql://etl:***@db.internal:5432/sales" in html


def test_a_job_retried_by_its_runner_marks_the_failed_try_and_its_success_resolves_the_issue(api, sink, tmp_path):
    script = tmp_path / "sync_accounts.py"
    script.write_text(
        "import os\n"
        "import trace_log\n"
        "\n"
        "@trace_log.traced\n"
        "def sync():\n"
        "    if os.environ['OTELMON_TRY_NUMBER'] == '1':\n"
        "        raise ConnectionError('crm not reachable')\n"
        "\n"
        "sync()\n",
        encoding="utf-8")
    # What a retrying wrapper (a cron helper, a systemd unit with Restart=) says about each try.
    first = run_job(script, job_env(sink.url, OTELMON_RUN_ID="r1", OTELMON_TRY_NUMBER="1", OTELMON_WILL_RETRY="true"))
    assert first.returncode == 1
    sink.received.wait_for(lambda got: len(got) >= 1, 30, "the failed try's span")
    second = run_job(script, job_env(sink.url, OTELMON_RUN_ID="r1", OTELMON_TRY_NUMBER="2"))
    assert second.returncode == 0, second.stderr
    sink.received.wait_for(lambda got: len(got) >= 2, 30, "the successful try's span")

    [row] = failures(api)
    assert (row["process"], row["try_number"], row["will_retry"]) == ("sync", 1, True)
    [issue] = httpx.get(f"{api.url}/api/v1/issues", timeout=10).raise_for_status().json()["items"]
    assert (issue["state"], issue["last_run_outcome"], issue["consecutive_failed_runs"]) == ("resolved", "success", 0)
