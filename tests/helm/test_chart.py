"""The Helm chart (deploy/helm/otelmon) linted and rendered by the real helm; every rendered manifest decoded
strictly into the Kubernetes API types of the pinned release; then what it renders: replicas, probes, security
settings, secrets kept out of ConfigMaps, hooks, the digest CronJob, the optional HPA and ServiceMonitor."""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helm.chart import (
    CHART,
    DATABASE_URL,
    PRODUCTION_VALUES,
    RELEASE,
    Rendered,
    Tools,
    helm_args,
    pod_specs,
    render,
    run,
    template,
)

API = f"{RELEASE}"  # the release is named like the chart, so its objects are named "otelmon"
DEFAULT = {"database.url": DATABASE_URL}
# Every optional part on, and every secret set to a value the tests look for elsewhere.
SECRETS = {
    "secrets.ingestToken": "ingest-token-sentinel",
    "secrets.secretKey": "secret-key-sentinel",
    "secrets.smtpPassword": "smtp-password-sentinel",
    "secrets.extra.SLACK_WEBHOOK_URL": "https://hooks.slack.example/slack-sentinel",
}
ALL_ON = {**DEFAULT, **SECRETS, "autoscaling.enabled": True, "serviceMonitor.enabled": True,
          "collector.podDisruptionBudget.enabled": True,
          "notify.config": "receivers:\n  - name: team\n    slack: [{webhook_url: '${SLACK_WEBHOOK_URL}'}]\n"
                           "default_receiver: team\n"}

CASES = {
    "default": ((), DEFAULT),
    "production": ((PRODUCTION_VALUES,), {}),
    "all-on": ((), ALL_ON),
}


@pytest.fixture(scope="module", params=list(CASES))
def rendered(request: pytest.FixtureRequest, tools: Tools) -> Rendered:
    files, sets = CASES[request.param]
    return render(tools, files, sets)


@pytest.fixture(scope="module")
def default(tools: Tools) -> Rendered:
    return render(tools, (), DEFAULT)


@pytest.mark.parametrize("case", list(CASES))
def test_helm_lint_strict(tools: Tools, case: str) -> None:
    files, sets = CASES[case]
    result = run([str(tools.helm), "lint", "--strict", str(CHART), *helm_args(files, sets)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 chart(s) failed" in result.stdout


def test_helm_is_the_pinned_release(tools: Tools) -> None:
    result = run([str(tools.helm), "version", "--short"])
    assert result.returncode == 0 and result.stdout.startswith("v3.22.0"), result.stdout + result.stderr


def test_the_decoder_refuses_an_unknown_field_and_an_unknown_kind(tools: Tools, default: Rendered) -> None:
    deployment = dict(default.one("Deployment", API))
    deployment["spec"] = {**deployment["spec"], "replica": 3}
    refused = run([str(tools.decode)], stdin=yaml.safe_dump(deployment))
    assert refused.returncode == 1 and 'unknown field "spec.replica"' in refused.stderr, refused.stderr
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    bad_probe = {**container, "readinessProbe": {**container["readinessProbe"], "timeout": 3}}
    deployment["spec"] = {**default.one("Deployment", API)["spec"]}
    deployment["spec"]["template"] = {"metadata": {}, "spec": {"containers": [bad_probe]}}
    refused = run([str(tools.decode)], stdin=yaml.safe_dump(deployment))
    assert refused.returncode == 1 and "readinessProbe.timeout" in refused.stderr, refused.stderr
    unknown = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    refused = run([str(tools.decode)], stdin=yaml.safe_dump(unknown))
    assert refused.returncode == 1 and "Widget" in refused.stderr, refused.stderr


def test_the_api_runs_two_replicas_behind_probes(default: Rendered) -> None:
    deployment = default.one("Deployment", API)
    assert deployment["spec"]["replicas"] == 2
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["otelmon"] and container["args"][0] == "serve"
    assert "--host=0.0.0.0" in container["args"]
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        assert 1 <= container[probe]["timeoutSeconds"] < container[probe]["periodSeconds"], probe
    assert [port["containerPort"] for port in container["ports"]] == [8090]
    # Rolling upgrades keep every replica serving until its successor is ready.
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


def test_every_pod_is_non_root_read_only_and_without_host_access(rendered: Rendered) -> None:
    specs = pod_specs(rendered)
    assert {"Deployment/otelmon", "Deployment/otelmon-collector", "Job/otelmon-migrations",
            "CronJob/otelmon-digest"} <= set(specs)
    for name, spec in specs.items():
        pod = spec["securityContext"]
        assert pod["runAsNonRoot"] is True and pod["runAsUser"] != 0, name
        assert pod["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert spec["automountServiceAccountToken"] is False, name
        for key in ("hostNetwork", "hostPID", "hostIPC"):
            assert not spec.get(key), (name, key)
        assert all("hostPath" not in volume for volume in spec.get("volumes", [])), name
        for container in spec["containers"] + spec.get("initContainers", []):
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, name
            assert context["allowPrivilegeEscalation"] is False, name
            assert context["capabilities"] == {"drop": ["ALL"]}, name
            assert not context.get("privileged"), name
            resources = container["resources"]
            assert resources["requests"]["cpu"] and resources["requests"]["memory"], name
            assert resources["limits"]["memory"], name
            assert not container.get("ports") or all("hostPort" not in p for p in container["ports"]), name


def test_images_are_pinned(rendered: Rendered) -> None:
    for name, spec in pod_specs(rendered).items():
        for container in spec["containers"]:
            image = container["image"]
            assert re.fullmatch(r"[\w./-]+:\d+\.\d+\.\d+", image), (name, image)


@pytest.mark.parametrize("tag", ["latest", ""])
def test_an_unpinned_image_is_refused(tools: Tools, tag: str) -> None:
    result = template(tools, (), {**DEFAULT, "image.tag": tag, "collector.image.tag": tag})
    if tag == "":
        # Empty means the chart's appVersion for the API; the collector has no such default.
        assert result.returncode != 0 and "collector.image.tag must name a pinned version" in result.stderr
    else:
        assert result.returncode != 0 and "must name a pinned version" in result.stderr, result.stderr


def test_the_pod_disruption_budget_keeps_one_api_pod(default: Rendered) -> None:
    budget = default.one("PodDisruptionBudget", API)
    assert budget["spec"]["minAvailable"] == 1
    pod_labels = default.one("Deployment", API)["spec"]["template"]["metadata"]["labels"]
    assert budget["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    # The collector's own budget is optional: with one collector it would block every node drain.
    assert [b["metadata"]["name"] for b in default.all("PodDisruptionBudget")] == [API]


def test_the_service_selects_the_api_pods_only(rendered: Rendered) -> None:
    service = rendered.one("Service", API)
    deployment = rendered.one("Deployment", API)
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    collector_labels = rendered.one("Deployment", "otelmon-collector")["spec"]["template"]["metadata"]["labels"]
    assert not service["spec"]["selector"].items() <= collector_labels.items()
    assert service["spec"]["ports"] == [{"name": "http", "port": 8090, "targetPort": "http", "protocol": "TCP"}]


def test_migrations_run_as_a_pre_install_and_pre_upgrade_hook(default: Rendered) -> None:
    job = default.one("Job", "otelmon-migrations")
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["otelmon", "migrate"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    assert job["spec"]["activeDeadlineSeconds"] > 0 and job["spec"]["backoffLimit"] >= 1
    # On a first install the release's Secret does not exist yet: the Job reads a hook Secret made before it.
    reference = container["env"][0]["valueFrom"]["secretKeyRef"]
    secret = default.one("Secret", reference["name"])
    assert secret["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert int(secret["metadata"]["annotations"]["helm.sh/hook-weight"]) < int(
        job["metadata"]["annotations"]["helm.sh/hook-weight"])
    assert base64.b64decode(secret["data"][reference["key"]]).decode() == DATABASE_URL


def test_the_digest_cronjob_runs_one_digest_at_a_time(default: Rendered) -> None:
    cronjob = default.one("CronJob", "otelmon-digest")
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    assert cronjob["spec"]["schedule"] == "*/30 * * * *"
    container = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["otelmon", "digest"]
    # A retried Job resends the digest its crashed pod claimed, under the same owner: the Job's name.
    assert container["args"] == ["--owner=$(DIGEST_OWNER)"]
    owner = {env["name"]: env for env in container["env"]}["DIGEST_OWNER"]
    assert owner["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.labels['batch.kubernetes.io/job-name']"
    assert {ref.get("configMapRef", ref.get("secretRef"))["name"] for ref in container["envFrom"]} == {API}


def test_the_digest_cronjob_can_be_left_to_airflow(tools: Tools) -> None:
    assert not render(tools, (), {**DEFAULT, "digest.enabled": False}).all("CronJob")


def _secret_values(rendered: Rendered) -> dict[str, str]:
    values: dict[str, str] = {}
    for secret in rendered.all("Secret"):
        values |= {key: base64.b64decode(value).decode() for key, value in secret["data"].items()}
    return values


def test_secrets_go_into_the_secret_and_never_into_a_configmap(tools: Tools) -> None:
    rendered = render(tools, (), ALL_ON)
    stored = _secret_values(rendered)
    assert stored["OTELMON_DATABASE_URL"] == DATABASE_URL
    assert stored["OTELMON_INGEST_TOKEN"] == SECRETS["secrets.ingestToken"]
    assert stored["OTELMON_SECRET_KEY"] == SECRETS["secrets.secretKey"]
    assert stored["OTELMON_SMTP_PASSWORD"] == SECRETS["secrets.smtpPassword"]
    assert stored["SLACK_WEBHOOK_URL"] == SECRETS["secrets.extra.SLACK_WEBHOOK_URL"]
    configmaps = yaml.safe_dump([cm["data"] for cm in rendered.all("ConfigMap")])
    for secret in ("db-password-sentinel", *SECRETS.values()):
        assert secret not in configmaps
    # Nor anywhere else in plain text (base64 in a Secret's data only).
    for secret in ("db-password-sentinel", *SECRETS.values()):
        assert secret not in rendered.text


@pytest.mark.parametrize("key", ["OTELMON_DATABASE_URL", "OTELMON_INGEST_TOKEN", "OTELMON_SMTP_PASSWORD",
                                 "OTELMON_SECRET_KEY"])
def test_a_secret_under_config_is_refused(tools: Tools, key: str) -> None:
    result = template(tools, (), {**DEFAULT, f"config.{key}": "oops"})
    assert result.returncode != 0
    assert f"config.{key} is a secret" in result.stderr
    assert "oops" not in result.stderr + result.stdout


def test_without_a_database_the_render_stops_with_what_to_set(tools: Tools) -> None:
    result = template(tools)
    assert result.returncode != 0
    assert "database.url is required" in result.stderr and "secrets.existingSecret" in result.stderr


def _secret_references(rendered: Rendered) -> set[str]:
    names: set[str] = set()
    for spec in pod_specs(rendered).values():
        for container in spec["containers"]:
            names |= {ref["secretRef"]["name"] for ref in container.get("envFrom", []) if "secretRef" in ref}
            names |= {env["valueFrom"]["secretKeyRef"]["name"] for env in container.get("env", [])
                      if "secretKeyRef" in env.get("valueFrom", {})}
    return names


def test_an_existing_secret_replaces_the_charts_own(tools: Tools) -> None:
    rendered = render(tools, (), {"secrets.existingSecret": "team-otelmon", **SECRETS})
    assert not rendered.all("Secret")
    assert _secret_references(rendered) == {"team-otelmon"}
    # The pods do not roll on a hash of a Secret the chart does not render.
    annotations = rendered.one("Deployment", API)["spec"]["template"]["metadata"]["annotations"]
    assert "checksum/secret" not in annotations and "checksum/config" in annotations
    for secret in SECRETS.values():
        assert secret not in rendered.text


def test_the_charts_own_secret_is_the_one_referenced(default: Rendered) -> None:
    assert _secret_references(default) == {API, "otelmon-migrations"}


def test_a_changed_setting_or_secret_rolls_the_api_pods(tools: Tools, default: Rendered) -> None:
    def checksums(rendered: Rendered) -> dict[str, str]:
        annotations = rendered.one("Deployment", API)["spec"]["template"]["metadata"]["annotations"]
        return {key: value for key, value in annotations.items() if key.startswith("checksum/")}

    before = checksums(default)
    changed_config = checksums(render(tools, (), {**DEFAULT, "config.OTELMON_LOG_LEVEL": "debug"}))
    changed_secret = checksums(render(tools, (), {**DEFAULT, "secrets.ingestToken": "another"}))
    assert changed_config["checksum/config"] != before["checksum/config"]
    assert changed_config["checksum/secret"] == before["checksum/secret"]
    assert changed_secret["checksum/secret"] != before["checksum/secret"]


def test_hpa_and_servicemonitor_are_off_by_default(default: Rendered) -> None:
    assert not default.all("HorizontalPodAutoscaler")
    assert not default.all("ServiceMonitor")


def test_the_hpa_scales_the_api_deployment(tools: Tools) -> None:
    rendered = render(tools, (), ALL_ON)
    hpa = rendered.one("HorizontalPodAutoscaler", API)
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": API}
    assert 2 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]
    # The HPA owns the replica count: a replicas field would fight it on every upgrade.
    assert "replicas" not in rendered.one("Deployment", API)["spec"]


def _service_monitor_targets(rendered: Rendered, name: str, service_name: str) -> None:
    monitor = rendered.one("ServiceMonitor", name)
    service = rendered.one("Service", service_name)
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    for other in rendered.all("Service"):
        if other is not service:
            assert not monitor["spec"]["selector"]["matchLabels"].items() <= other["metadata"]["labels"].items()
    ports = {port["name"] for port in service["spec"]["ports"]}
    assert {endpoint["port"] for endpoint in monitor["spec"]["endpoints"]} <= ports


def test_the_servicemonitors_select_the_api_and_collector_services(tools: Tools) -> None:
    rendered = render(tools, (PRODUCTION_VALUES,))
    _service_monitor_targets(rendered, API, API)
    _service_monitor_targets(rendered, "otelmon-collector", "otelmon-collector")
    api_monitor = rendered.one("ServiceMonitor", API)
    assert api_monitor["spec"]["endpoints"][0]["path"] == "/metrics"
    assert api_monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"


def test_labels_follow_the_kubernetes_recommendations(rendered: Rendered) -> None:
    for doc in rendered.documents:
        labels: dict[str, Any] = doc["metadata"]["labels"]
        for key in ("app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/version",
                    "app.kubernetes.io/managed-by", "helm.sh/chart"):
            assert labels.get(key), (doc["kind"], doc["metadata"]["name"], key)


def test_a_receivers_file_is_mounted_where_the_setting_points(tools: Tools) -> None:
    rendered = render(tools, (), ALL_ON)
    settings = rendered.one("ConfigMap", API)["data"]
    spec = rendered.one("Deployment", API)["spec"]["template"]["spec"]
    mount = {m["name"]: m for m in spec["containers"][0]["volumeMounts"]}["notify"]
    volume = {v["name"]: v for v in spec["volumes"]}["notify"]
    notify = rendered.one("ConfigMap", volume["configMap"]["name"])
    assert settings["OTELMON_NOTIFY_CONFIG"] == f"{mount['mountPath']}/notify.yaml"
    assert yaml.safe_load(notify["data"]["notify.yaml"])["default_receiver"] == "team"
    # No receivers file: no setting, so alerts go by email to OTELMON_ALERT_RECIPIENTS.
    assert "OTELMON_NOTIFY_CONFIG" not in render(tools, (), DEFAULT).one("ConfigMap", API)["data"]


def test_the_production_receivers_file_passes_otelmon_notify_check(tools: Tools, tmp_path: Path) -> None:
    rendered = render(tools, (PRODUCTION_VALUES,))
    notify = tmp_path / "notify.yaml"
    notify.write_text(rendered.one("ConfigMap", "otelmon-notify")["data"]["notify.yaml"])
    env = {key: value for key, value in os.environ.items() if not key.startswith("OTELMON_")}
    # The ${VAR}s it names come from secrets.existingSecret in the cluster; here, stand-in values.
    env |= {"SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T0/B0/x", "OTELMON_DATABASE_URL": DATABASE_URL}
    result = subprocess.run([sys.executable, "-m", "otelmon.cli", "notify", "check", str(notify)], env=env,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    env.pop("SLACK_WEBHOOK_URL")
    missing = subprocess.run([sys.executable, "-m", "otelmon.cli", "notify", "check", str(notify)], env=env,
                             capture_output=True, text=True, timeout=60, check=False)
    assert missing.returncode != 0 and "SLACK_WEBHOOK_URL" in missing.stdout + missing.stderr


def test_a_misspelled_value_is_refused(tools: Tools) -> None:
    result = template(tools, (), {**DEFAULT, "replicaCont": 3})
    assert result.returncode != 0 and "'replicaCont' not allowed" in result.stderr, result.stderr
    result = template(tools, (), {**DEFAULT, "collector.tempoEndpont": "tempo:4317"})
    assert result.returncode != 0 and "'tempoEndpont' not allowed" in result.stderr, result.stderr


def test_a_database_other_than_mariadb_is_refused_without_echoing_it(tools: Tools) -> None:
    result = template(tools, (), {"database.url": "sqlite:////tmp/pw-sentinel.db"})
    assert result.returncode != 0 and "database.url must be a MariaDB URL" in result.stderr, result.stderr
    assert "pw-sentinel" not in result.stderr + result.stdout
