"""Every PromQL expression of the dashboards (and of the Tempo datasource's trace-to-metrics links)
is evaluated by a real Prometheus over series shaped like the stack's, without error and with data."""

from __future__ import annotations

import pytest
import yaml

from tests.stack.grafana_queries import expand_promql, queries
from tests.stack.prometheus_server import PrometheusServer
from tests.stack.stack_paths import DATASOURCES

PROM_QUERIES = queries("prometheus")
ALL = {"platform": ".+", "group": ".+"}
ONE = {"platform": "airflow", "group": "daily_sales"}


def _tempo_links() -> list[str]:
    tempo = next(d for d in yaml.safe_load(DATASOURCES.read_text())["datasources"] if d["uid"] == "tempo")
    # Provisioning turns $$ into $; Grafana then fills $__tags from the span's attributes.
    return [q["query"].replace("$$", "$") for q in tempo["jsonData"]["tracesToMetrics"]["queries"]]


def test_dashboards_have_promql_queries() -> None:
    assert len(PROM_QUERIES) >= 20


@pytest.mark.parametrize("variables", [ALL, ONE], ids=["all", "one"])
@pytest.mark.parametrize("query", PROM_QUERIES, ids=lambda q: f"{q.dashboard}:{q.panel}")
def test_expression_evaluates_with_data(prometheus: PrometheusServer, query, variables: dict) -> None:
    expr = expand_promql(query.text, variables)
    if query.panel.startswith("variable $"):
        # label_values() is Grafana's, not PromQL: ask the series API what Grafana asks.
        expr = expr[len("label_values(") :].rsplit(",", 1)[0]
    answer = prometheus.query(expr)
    assert answer["status"] == "success", f"{query.dashboard} / {query.panel}: {answer}\n{expr}"
    assert answer["data"]["result"], f"{query.dashboard} / {query.panel}: no data for\n{expr}"


@pytest.mark.parametrize("link", _tempo_links())
def test_trace_to_metrics_queries_evaluate(prometheus: PrometheusServer, link: str) -> None:
    expr = link.replace("$__tags", 'service_name="airflow", otelmon_group="daily_sales"')
    answer = prometheus.query(expr)
    assert answer["status"] == "success", answer
    assert answer["data"]["result"], expr


def test_failure_ratio_is_the_error_share(prometheus: PrometheusServer) -> None:
    (query,) = [q for q in PROM_QUERIES if q.panel == "Failure ratio"]
    answer = prometheus.query(expand_promql(query.text, ALL))
    (sample,) = answer["data"]["result"]
    # The samples report 0.25 errors for every 4 + 0.25 executions.
    assert float(sample["value"][1]) == pytest.approx(0.25 / 4.25, rel=0.01)
