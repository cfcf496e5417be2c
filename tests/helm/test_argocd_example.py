"""deploy/argocd/otelmon-application.yaml, the Argo CD example, checked without Argo CD.

Reduced check, by design: Argo CD's Go API module does not build from the module proxy here (its gitops-engine
fails), so the Application is not decoded into its type. Instead every key it uses must be one the Application
CRD (argoproj.io/v1alpha1) defines at that place (the lists below, from Argo CD's Application specification,
cover the fields an example would use), the chart path and value files it names must exist, and helm must
render the chart the way Argo CD would (same release name and value files) into manifests that decode strictly.
"""

from __future__ import annotations

from typing import Any

import yaml

from tests.helm.chart import RELEASE, REPO, Tools, render

EXAMPLE = REPO / "deploy" / "argocd" / "otelmon-application.yaml"

# Where a key may appear -> the keys the CRD defines there.
KEYS: dict[str, set[str]] = {
    "": {"apiVersion", "kind", "metadata", "spec"},
    "metadata": {"name", "namespace", "labels", "annotations", "finalizers"},
    "spec": {"project", "source", "sources", "destination", "syncPolicy", "ignoreDifferences", "info",
             "revisionHistoryLimit", "sourceHydrator"},
    "spec.source": {"repoURL", "targetRevision", "path", "chart", "helm", "kustomize", "directory", "plugin",
                    "ref", "name"},
    "spec.source.helm": {"releaseName", "valueFiles", "values", "valuesObject", "parameters", "fileParameters",
                         "passCredentials", "ignoreMissingValueFiles", "skipCrds", "skipSchemaValidation",
                         "skipTests", "version", "kubeVersion", "apiVersions", "namespace"},
    "spec.destination": {"server", "namespace", "name"},
    "spec.syncPolicy": {"automated", "syncOptions", "retry", "managedNamespaceMetadata"},
    "spec.syncPolicy.automated": {"prune", "selfHeal", "allowEmpty", "enabled"},
    "spec.syncPolicy.retry": {"limit", "backoff", "refresh"},
    "spec.syncPolicy.retry.backoff": {"duration", "factor", "maxDuration"},
}
# Argo CD's documented sync options this example may use.
SYNC_OPTIONS = {"CreateNamespace=true", "ServerSideApply=true", "PruneLast=true", "ApplyOutOfSyncOnly=true"}


def _walk(node: dict[str, Any], path: str = "") -> None:
    assert path in KEYS, f"the example sets {path!r}, which this check does not know"
    unknown = set(node) - KEYS[path]
    assert not unknown, f"{path or 'top level'}: keys the Application CRD does not define: {sorted(unknown)}"
    for key, value in node.items():
        child = f"{path}.{key}" if path else key
        if isinstance(value, dict) and child in KEYS:
            _walk(value, child)


def test_the_example_uses_only_fields_an_application_has() -> None:
    application = yaml.safe_load(EXAMPLE.read_text())
    assert application["apiVersion"] == "argoproj.io/v1alpha1" and application["kind"] == "Application"
    _walk(application)
    sync = application["spec"]["syncPolicy"]
    assert set(sync["syncOptions"]) <= SYNC_OPTIONS
    assert isinstance(sync["automated"]["prune"], bool) and isinstance(sync["retry"]["limit"], int)


def test_the_example_installs_this_chart_with_values_that_render(tools: Tools) -> None:
    source = yaml.safe_load(EXAMPLE.read_text())["spec"]["source"]
    chart = REPO / source["path"]
    assert (chart / "Chart.yaml").is_file(), source["path"]
    assert source["helm"]["releaseName"] == RELEASE  # the names the tests below expect
    value_files = tuple(chart / name for name in source["helm"]["valueFiles"])
    assert value_files and all(path.is_file() for path in value_files), value_files
    rendered = render(tools, value_files)
    # What the chart's hooks become under Argo CD (PreSync): the migrations Job is among them.
    assert rendered.one("Job", "otelmon-migrations")["metadata"]["annotations"]["helm.sh/hook"]
