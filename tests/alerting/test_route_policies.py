"""A route's own storm cap and repeat interval (docs/design.md "Notification channels"): one team's storm
does not hold back another team's alerts; a route may want every repeat (both databases)."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import select

from otelmon.alerting.dispatch import dispatch_due
from otelmon.alerting.routing import Router
from otelmon.clock import utcnow
from tests.alerting.conftest import open_db
from tests.digest.seed import failure, store

FILE = """\
receivers:
  - name: billing
    email: [billing@example.com]
  - name: ops
    email: [ops@example.com]
routes:
  - match: {group: "billing_*"}
    receiver: billing
    storm_cap_per_minute: 2
  - match: {group: "flaky_*"}
    receiver: ops
    repeat_interval: 0s
default_receiver: ops
"""


@pytest.fixture
def db(database_url, tmp_path):
    (tmp_path / "notify.yaml").write_text(FILE)
    engine, tables, settings = open_db(database_url, notify_config=tmp_path / "notify.yaml",
                                       alert_storm_cap_per_minute=20)
    yield engine, tables, settings, Router.from_settings(settings)
    engine.dispose()


def routes_of_alerts(engine, tables) -> Counter:
    a = tables.alerts
    with engine.connect() as conn:
        return Counter(conn.execute(select(a.c.route).where(a.c.kind == "failure")).scalars())


def test_a_storm_on_one_route_does_not_hold_back_another(db):
    engine, tables, settings, router = db
    store(engine, [failure(f"load_{n}", group="billing_daily") for n in range(6)]
          + [failure(f"sync_{n}", group="sales") for n in range(4)])
    stats = dispatch_due(engine, tables, settings, utcnow(), router)
    # billing's cap is 2 a minute: 4 of its failures wait for the storm summary; sales (default route, cap 20)
    # is alerted in full.
    assert routes_of_alerts(engine, tables) == {"routes[0]": 2, "default": 4}
    assert (stats.alerted, stats.held) == (6, 4)
    # The same again within the minute: billing has no budget left, sales has 16.
    store(engine, [failure(f"load_{n}", group="billing_more") for n in range(2)]
          + [failure(f"sync_{n}", group="sales_more") for n in range(2)])
    dispatch_due(engine, tables, settings, utcnow(), router)
    assert routes_of_alerts(engine, tables) == {"routes[0]": 2, "default": 6}


def test_a_route_without_a_repeat_interval_is_told_of_every_repeat(db):
    engine, tables, settings, router = db
    store(engine, [failure("check", group="flaky_feed"), failure("check", group="steady_feed")])
    assert dispatch_due(engine, tables, settings, utcnow(), router).alerted == 2
    # Same fingerprints again: the flaky route (repeat_interval 0s) alerts again, the default (1 h) counts it.
    store(engine, [failure("check", group="flaky_feed"), failure("check", group="steady_feed")])
    stats = dispatch_due(engine, tables, settings, utcnow(), router)
    assert (stats.alerted, stats.suppressed) == (1, 1)
    assert routes_of_alerts(engine, tables) == {"routes[1]": 2, "default": 1}


def test_without_route_policies_alerts_are_not_tied_to_a_route(database_url):
    engine, tables, settings = open_db(database_url, alert_recipients=["team@example.com"],
                                       alert_storm_cap_per_minute=3)
    try:
        store(engine, [failure(f"p{n}", group=f"g{n}") for n in range(5)])
        stats = dispatch_due(engine, tables, settings, utcnow())
        assert (stats.alerted, stats.held) == (3, 2)
        assert routes_of_alerts(engine, tables) == {None: 3}
    finally:
        engine.dispose()


def test_routes_that_all_set_the_same_policy_of_their_own_still_get_it(tmp_path):
    from otelmon.config import Settings

    (tmp_path / "notify.yaml").write_text(
        "receivers:\n  - name: ops\n    email: [ops@example.com]\n"
        "routes:\n  - match: {group: '*'}\n    receiver: ops\n    repeat_interval: 0s\n")
    settings = Settings(notify_config=tmp_path / "notify.yaml")
    assert Router.from_settings(settings).policies_vary()
    legacy = Settings(alert_recipients=["ops@example.com"])
    assert not Router.from_settings(legacy).policies_vary()
