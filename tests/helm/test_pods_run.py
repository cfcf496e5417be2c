"""The chart's pods as Kubernetes would start them, run here against a real MariaDB: each container's command and
args, its environment from the rendered ConfigMap, Secret, env values and downward-API fields, its ConfigMap
volumes written where the settings point. The migrations Job applies the schema, the API answers its rendered
liveness and readiness probes and takes a failure with the Secret's token, and the digest CronJob's command
emails it (through an SMTP server on loopback) under the Job's name as its owner, once.

Only what cannot be had outside a cluster changes: `otelmon` is this interpreter's, a volume's mount path
moves under a temporary directory, and the API listens on loopback at a free port instead of 0.0.0.0:8090.
"""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from otelmon.test_failure import send_test_failure
from tests.harness.ports import free_port
from tests.harness.smtp import SmtpSink
from tests.harness.waiting import wait_until_serving
from tests.helm.chart import Rendered, Tools, pod_specs, render

TOKEN = "pod-token"
JOB_NAME = "otelmon-digest-29410230"  # what the CronJob controller names a Job: <cronjob>-<minutes since epoch>
# The downward-API fields the chart reads, as the kubelet fills them in.
FIELDS = {"metadata.labels['batch.kubernetes.io/job-name']": JOB_NAME}
NOTIFY = """\
receivers:
  - name: team
    email: [team@example.com]
    slack: [{webhook_url: "${SLACK_WEBHOOK_URL}"}]
default_receiver: team
"""


class Pod:
    """One container of a rendered pod template, ready to run as a local process."""

    def __init__(self, rendered: Rendered, spec: dict[str, Any], root: Path) -> None:
        self.rendered = rendered
        self.container = spec["containers"][0]
        self.root = root
        self.mounts = self._write_configmap_volumes(spec)
        self.env = self._environment()

    def _secret(self, name: str) -> dict[str, str]:
        data = self.rendered.one("Secret", name)["data"]
        return {key: base64.b64decode(value).decode() for key, value in data.items()}

    def _write_configmap_volumes(self, spec: dict[str, Any]) -> dict[str, Path]:
        volumes = {volume["name"]: volume for volume in spec.get("volumes", [])}
        mounts: dict[str, Path] = {}
        for mount in self.container.get("volumeMounts", []):
            volume = volumes[mount["name"]]
            local = self.root / mount["mountPath"].lstrip("/")
            local.mkdir(parents=True, exist_ok=True)
            if "configMap" in volume:
                for key, text in self.rendered.one("ConfigMap", volume["configMap"]["name"])["data"].items():
                    (local / key).write_text(text)
            mounts[mount["mountPath"]] = local
        return mounts

    def _environment(self) -> dict[str, str]:
        env: dict[str, str] = {}
        for ref in self.container.get("envFrom", []):
            if "configMapRef" in ref:
                env |= self.rendered.one("ConfigMap", ref["configMapRef"]["name"])["data"]
            if "secretRef" in ref:
                env |= self._secret(ref["secretRef"]["name"])
        for item in self.container.get("env", []):
            source = item.get("valueFrom", {})
            if "value" in item:
                env[item["name"]] = item["value"]
            elif "secretKeyRef" in source:
                env[item["name"]] = self._secret(source["secretKeyRef"]["name"])[source["secretKeyRef"]["key"]]
            elif "fieldRef" in source:
                env[item["name"]] = FIELDS[source["fieldRef"]["fieldPath"]]
        for path, local in self.mounts.items():  # a setting that names a file in a mounted volume
            env = {key: str(local) + value[len(path):] if value.startswith(path + "/") else value
                   for key, value in env.items()}
        return env

    def argv(self, replace: dict[str, str] | None = None) -> list[str]:
        # Kubernetes expands $(VAR) in command and args from the container's environment.
        words = [re.sub(r"\$\((\w+)\)", lambda m: self.env.get(m.group(1), m.group(0)), word)
                 for word in self.container["command"] + self.container.get("args", [])]
        words = [(replace or {}).get(word, word) for word in words]
        assert words[0] == "otelmon", words
        return [sys.executable, "-m", "otelmon.cli", *words[1:]]

    def process_env(self) -> dict[str, str]:
        inherited = {key: value for key, value in os.environ.items() if not key.startswith("OTELMON_")}
        return {**inherited, **self.env}

    def run(self) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.argv(), env=self.process_env(), cwd=self.root, capture_output=True, text=True,
                              timeout=120, check=False)


@pytest.fixture
def rendered(tools: Tools, mariadb_database: str, smtp_sink: SmtpSink) -> Rendered:
    return render(tools, (), {
        "database.url": mariadb_database, "secrets.ingestToken": TOKEN,
        "notify.config": NOTIFY, "secrets.extra.SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T0/B0/x",
        "config.OTELMON_SMTP_HOST": "127.0.0.1", "config.OTELMON_SMTP_PORT": str(smtp_sink.port),
        "config.OTELMON_SMTP_SECURITY": "plain",
        # The failure below is for the digest: no immediate alert, so nothing tries to reach Slack.
        "config.OTELMON_ALERTS_ENABLED": "false",
    })


@contextmanager
def serving(pod: Pod) -> Iterator[str]:
    """The API pod's process, on loopback, answering its liveness probe; its base URL."""
    port = free_port()
    argv = pod.argv({"--host=0.0.0.0": "--host=127.0.0.1", "--port=8090": f"--port={port}"})
    log = pod.root / "api.log"
    with log.open("w") as out:
        process = subprocess.Popen(argv, env=pod.process_env(), cwd=pod.root, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(process, lambda: _answers(url + pod.container["livenessProbe"]["httpGet"]["path"]), 90,
                           "the API pod", log.read_text)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def test_the_rendered_pods_migrate_serve_and_send_the_digest(rendered: Rendered, tmp_path: Path,
                                                             smtp_sink: SmtpSink) -> None:
    specs = pod_specs(rendered)
    # The hook first, as helm runs it: it applies the whole schema, so the API finds nothing left to apply.
    migrations = Pod(rendered, specs["Job/otelmon-migrations"], tmp_path / "migrations").run()
    assert migrations.returncode == 0, migrations.stdout + migrations.stderr
    assert "applied: 001_failures" in migrations.stdout, migrations.stdout

    pod = Pod(rendered, specs["Deployment/otelmon"], tmp_path / "api")
    with serving(pod) as url:
        _check_api(pod, url)
        failure = send_test_failure(url, TOKEN, group="helm_chart", process="rendered_pod")

    digest = Pod(rendered, specs["CronJob/otelmon-digest"], tmp_path / "digest")
    assert digest.argv()[-1] == f"--owner={JOB_NAME}"
    sent = digest.run()
    assert sent.returncode == 0, sent.stdout + sent.stderr
    (email,) = smtp_sink.wait_for(1)
    assert email.rcpt_tos == [rendered.one("ConfigMap", "otelmon")["data"]["OTELMON_ALERT_RECIPIENTS"]]
    assert failure.trace_id in email.message.get_body(("plain",)).get_content()
    # The next run finds nothing unreported: no second email.
    again = digest.run()
    assert again.returncode == 0, again.stdout + again.stderr
    assert len(smtp_sink.received) == 1


def _check_api(pod: Pod, url: str) -> None:
    container = pod.container
    ready = httpx.get(url + container["readinessProbe"]["httpGet"]["path"], timeout=5)
    assert ready.status_code == 200 and ready.json()["status"] == "ready", ready.text
    # The receivers file was found where the ConfigMap points, its ${SLACK_WEBHOOK_URL} filled from the Secret:
    # no warning about where alerts go.
    assert "warnings" not in ready.json(), ready.json()
    # The ingest token from the Secret is the one the API requires.
    refused = httpx.post(url + "/v1/traces", content=b"", timeout=5,
                         headers={"Authorization": "Bearer wrong", "Content-Type": "application/x-protobuf"})
    assert refused.status_code == 401, refused.text
