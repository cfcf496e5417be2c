"""Routes: first match unless continue, the default, globs on every label; the legacy settings unchanged."""

from __future__ import annotations

import json
import textwrap
from types import SimpleNamespace

import pytest

from otelmon.alerting import routing
from otelmon.alerting.routing import Labels, Router, Unroutable
from otelmon.config import AlertRoute, Settings

FILE = """\
receivers:
  - name: billing
    telegram: [{bot_token: t, chat_id: "1"}]
    email: [billing@example.com]
  - name: finance
    email: [finance@example.com]
  - name: owners
    discord: [{webhook_url: "https://discord.example/1"}, {webhook_url: "https://discord.example/2"}]
  - name: loaders
    email: [loaders@example.com]
  - name: team
    email: [team@example.com, oncall@example.com]
routes:
  - match: {platform: airflow, group: "billing_*"}
    receiver: billing
    continue: true
    repeat_interval: 5m
    storm_cap_per_minute: 3
    send_resolved: false
  - match: {process: "load_*"}
    receiver: loaders
  - match: {tag: "fin*"}
    receiver: finance
  - match: {owner: "alice", platform: "nifi"}
    receiver: owners
default_receiver: team
"""


def settings(tmp_path, text: str = FILE, **values) -> Settings:
    path = tmp_path / "notify.yaml"
    path.write_text(textwrap.dedent(text))
    return Settings(notify_config=path, alert_repeat_interval_seconds=600, alert_storm_cap_per_minute=9, **values)


@pytest.fixture
def router(tmp_path) -> Router:
    return Router.from_settings(settings(tmp_path), {})


def receivers(router: Router, labels: Labels) -> list[str]:
    return [route.receiver for route in router.routes_for(labels)]


def test_first_match_wins_unless_it_continues(router):
    # billing continues: the next matching routes are added until one that does not continue.
    assert receivers(router, Labels("airflow", "billing_daily", "load_x", tags=("finance",))) == ["billing", "loaders"]
    assert receivers(router, Labels("airflow", "billing_daily", "charge", tags=("finance",))) == ["billing", "finance"]
    assert receivers(router, Labels("airflow", "billing_daily", "charge")) == ["billing"]
    # Without continue the first match is the only one.
    assert receivers(router, Labels("airflow", "sales", "load_x", tags=("finance",))) == ["loaders"]


def test_no_match_goes_to_the_default_with_the_settings_values(router):
    (route,) = router.routes_for(Labels("nifi", "ingest", "fetch"))
    assert route == routing.Route("default", "team", 600, 9, True)


def test_a_route_keeps_its_own_values_and_names_its_place(router):
    route, _ = router.routes_for(Labels("airflow", "billing_x", "load_y"))
    assert route == routing.Route("routes[0]", "billing", 300, 3, False)
    assert router.routes_for(Labels("airflow", "x", "load_y")) == [routing.Route("routes[1]", "loaders", 600, 9, True)]


@pytest.mark.parametrize("labels, matches", [
    (Labels("nifi", "g", owner="alice"), True),
    (Labels("nifi", "g", owner="bob, alice"), True),  # one of several owners, as Airflow lists a DAG's
    (Labels("nifi", "g", owner="alice-two"), False),
    (Labels("airflow", "g", owner="alice"), False),  # every key of match must fit
    (Labels("nifi", "g"), False),
])
def test_owner_globs(router, labels, matches):
    assert (receivers(router, labels) == ["owners"]) is matches


@pytest.mark.parametrize("tags, matches", [(("etl", "finance"), True), (("fin",), True), (("etl",), False),
                                           ((), False), (("Finance",), False)])
def test_tag_globs_match_any_tag_case_sensitively(router, tags, matches):
    assert (receivers(router, Labels("python", "job", tags=tags)) == ["finance"]) is matches


def test_a_pattern_never_matches_a_missing_label(router):
    assert receivers(router, Labels("python", "job", process=None)) == ["team"]


def test_without_default_an_unmatched_alert_is_unroutable_and_said_so(tmp_path):
    router = Router.from_settings(settings(tmp_path, FILE.replace("default_receiver: team\n", "")), {})
    assert router.routes_for(Labels("nifi", "x")) == []
    assert str(router.unroutable([("airflow", "x")])) == (
        "no receiver: no route in notify.yaml matches airflow/x and it sets no default_receiver")
    assert router.warnings() == ["no default_receiver in notify.yaml: alerts that match no route wait as"
                                 " 'unroutable'"]
    assert router.can_route_any()


def test_an_empty_match_takes_everything(tmp_path):
    router = Router.from_settings(settings(tmp_path, """\
        receivers: [{name: all, email: [a@example.com]}, {name: team, email: [t@example.com]}]
        routes: [{receiver: all}]
        default_receiver: team
        """), {})
    assert receivers(router, Labels("nifi", "x")) == ["all"]


def test_targets_follow_the_registry_order_with_an_index_per_integration(router):
    assert [(t.integration, t.index) for t in router.targets("billing")] == [("email", 0), ("telegram", 0)]
    assert [(t.receiver, t.integration, t.index) for t in router.targets("owners")] == [
        ("owners", "discord", 0), ("owners", "discord", 1)]
    assert router.targets("team")[0].config.to == ["team@example.com", "oncall@example.com"]
    assert router.receiver_names() == ["billing", "finance", "owners", "loaders", "team"]
    with pytest.raises(KeyError):
        router.targets("nobody")


def test_a_receiver_without_integrations_is_a_warning(tmp_path):
    router = Router.from_settings(settings(tmp_path, """\
        receivers: [{name: void}, {name: unused}]
        default_receiver: void
        """), {})
    assert router.warnings() == ["receiver 'void' has no integrations: alerts routed to it go nowhere"]
    assert not router.can_route_any()
    assert Router.from_settings(settings(tmp_path, "receivers: []\n", alerts_enabled=False), {}).warnings() == []


def test_describe_lists_receivers_and_routes(router):
    described = router.describe()
    assert described["source"].endswith("notify.yaml")
    assert described["routes"][0] == {"name": "routes[0]", "match": {"platform": "airflow", "group": "billing_*"},
                                      "receiver": "billing", "continue": True, "repeat_interval_seconds": 300.0,
                                      "storm_cap_per_minute": 3, "send_resolved": False}
    assert described["default_receiver"] == {"receiver": "team", "repeat_interval_seconds": 600,
                                             "storm_cap_per_minute": 9, "send_resolved": True}


def test_the_module_functions_answer_from_the_file_too(tmp_path):
    configured = settings(tmp_path)
    assert routing.recipients_for(configured, "airflow", "billing_x") == ["billing@example.com"]
    assert routing.recipients_for(configured, "nifi", "x") == ["team@example.com", "oncall@example.com"]
    assert routing.recipients_for_many(configured, [("airflow", "billing_x"), ("nifi", "x")]) == [
        "billing@example.com", "team@example.com", "oncall@example.com"]
    assert routing.can_route_any(configured) and routing.routing_warnings(configured) == []
    # Read once, as the API reads it at start: a file broken while it runs breaks neither delivery nor /readyz.
    configured.notify_config.write_text("receivers: [{name: other}]\ndefault_receiver: nobody\n")
    assert routing.recipients_for(configured, "nifi", "x") == ["team@example.com", "oncall@example.com"]
    assert routing.routing_warnings(configured) == []


# --------------------------------------------------------------------------- the legacy settings
def legacy(**values) -> Settings:
    return Settings(**values)


ROUTES = [AlertRoute(match="airflow/billing_*", to=["billing@example.com"]),
          AlertRoute(match="nifi/*", to=["ingest@example.com", "oncall@example.com"]),
          AlertRoute(match="airflow/muted", to=[])]


@pytest.mark.parametrize("values, platform, group, expected", [
    ({"alert_recipients": ["team@example.com"]}, "airflow", "x", ["team@example.com"]),
    ({"alert_recipients": ["team@example.com"], "alert_routes": ROUTES}, "airflow", "billing_1",
     ["billing@example.com"]),
    ({"alert_recipients": ["team@example.com"], "alert_routes": ROUTES}, "nifi", "ingest",
     ["ingest@example.com", "oncall@example.com"]),
    ({"alert_recipients": ["team@example.com"], "alert_routes": ROUTES}, "airflow", "sales", ["team@example.com"]),
    # A matching route with nobody in it wins over the default, as before.
    ({"alert_recipients": ["team@example.com"], "alert_routes": ROUTES}, "airflow", "muted", []),
    ({"alert_routes": ROUTES}, "airflow", "sales", []),
    ({}, "airflow", "x", []),
])
def test_legacy_recipients_are_what_they_were(values, platform, group, expected):
    assert routing.recipients_for(legacy(**values), platform, group) == expected


def test_legacy_settings_become_receivers_with_one_email_target():
    router = Router.from_settings(legacy(alert_recipients=["team@example.com"], alert_routes=ROUTES[:2],
                                         alert_repeat_interval_seconds=60))
    assert router.receiver_names() == ["route-0", "route-1", "default"]
    assert [(t.integration, t.config.to) for t in router.targets("route-1")] == [
        ("email", ["ingest@example.com", "oncall@example.com"])]
    assert router.routes_for(Labels("nifi", "x")) == [routing.Route("routes[1]", "route-1", 60, 20, True)]
    assert router.describe()["routes"][0]["match"] == {"platform/group": "airflow/billing_*"}
    assert router.describe()["source"] == "OTELMON_ALERT_RECIPIENTS / OTELMON_ALERT_ROUTES"


def test_legacy_unroutable_message_and_warnings_are_unchanged():
    assert str(Unroutable([("airflow", "x")])) == (
        "no recipients: set OTELMON_ALERT_RECIPIENTS or a route for airflow/x (OTELMON_ALERT_ROUTES)")
    assert str(Router.from_settings(legacy()).unroutable([("airflow", "x")])) == str(Unroutable([("airflow", "x")]))
    assert routing.routing_warnings(legacy(alert_recipients=["a@example.com"])) == []
    assert routing.routing_warnings(legacy(alert_routes=ROUTES)) == [
        "no default alert recipients: alerts of pipelines that match no OTELMON_ALERT_ROUTES entry wait as"
        " 'unroutable' until OTELMON_ALERT_RECIPIENTS is set"]
    assert routing.routing_warnings(legacy()) == [
        "no alert recipients configured: alerts wait as 'unroutable' until OTELMON_ALERT_RECIPIENTS (or"
        " OTELMON_ALERT_ROUTES) is set and the API restarted"]
    assert routing.routing_warnings(legacy(alerts_enabled=False)) == []
    assert not routing.can_route_any(legacy(alert_routes=ROUTES[2:]))
    assert routing.can_route_any(legacy(alert_routes=ROUTES[:1]))


# --------------------------------------------------------------------------- labels of a stored failure
def row(attributes) -> SimpleNamespace:
    return SimpleNamespace(platform="airflow", group_name="billing", process_name="load", attributes=attributes)


@pytest.mark.parametrize("attributes, owner, tags", [
    ({"span": {"otelmon.owner": "alice", "otelmon.tags": ["finance", "daily", "finance"]}}, "alice",
     ("finance", "daily")),
    (json.dumps({"span": {"otelmon.owner": "alice"}, "resource": {"otelmon.owner": "ops", "otelmon.tags": "a, b"}}),
     "alice", ("a", "b")),  # the span first, then the resource (text tags are comma-separated)
    ({"span": {"otelmon.owner": "  "}, "resource": {"otelmon.owner": "ops"}}, "ops", ()),
    ({"span": {"otelmon.owner": 7, "otelmon.tags": [1, "x"]}}, None, ("x",)),
    (None, None, ()),
    ("not json", None, ()),
    ({"span": "odd"}, None, ()),
])
def test_labels_of_a_failure_row(attributes, owner, tags):
    assert Labels.of_failure(row(attributes)) == Labels("airflow", "billing", "load", owner, tags)


def test_labels_of_a_mapping_row():
    found = Labels.of_failure({"platform": "nifi", "group_name": "g", "process_name": None, "attributes": None})
    assert found == Labels("nifi", "g")
