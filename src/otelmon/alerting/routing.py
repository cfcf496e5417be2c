"""Where an alert goes: the routes whose ``match`` fits the alert's labels, each naming a receiver whose targets
(an email list, a Slack webhook, ...) get it (docs/design.md "Notification channels").

The routes come from the file named by ``OTELMON_NOTIFY_CONFIG`` (``notify_config``), else from
``OTELMON_ALERT_RECIPIENTS`` / ``OTELMON_ALERT_ROUTES``, translated: each legacy route is a receiver with one
email target matching ``platform/group`` against its pattern, and the recipients are the default receiver.

Resolved when an alert is sent, from the settings of the process sending it: an alert dispatched while nothing
was configured goes out once something is.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from otelmon.alerting.notify import registry
from otelmon.alerting.notify_config import NotifyConfig, load
from otelmon.config import Settings
from otelmon.failures import attributes as k

LEGACY_SOURCE = "OTELMON_ALERT_RECIPIENTS / OTELMON_ALERT_ROUTES"
DEFAULT = "default"
# The legacy routes' pattern, matched against "platform/group"; no key of the file's `match`.
_PIPELINE = "platform/group"


@dataclass(frozen=True)
class Labels:
    """What a route matches on."""

    platform: str
    group: str
    process: str | None = None
    owner: str | None = None
    tags: tuple[str, ...] = ()

    @classmethod
    def of_failure(cls, row: Any) -> Labels:
        """The labels of a failures row (``platform``, ``group_name``, ``process_name``, ``attributes``: the
        stored ``{"span": {...}, "resource": {...}}`` or its JSON text). Owner and tags as the instrumentation
        put them on the span, else on the resource (``OTEL_RESOURCE_ATTRIBUTES``)."""
        stored = _field(row, "attributes")
        if isinstance(stored, (str, bytes)):
            try:
                stored = json.loads(stored)
            except ValueError:
                stored = None
        scopes = [stored.get(scope) for scope in ("span", "resource")] if isinstance(stored, dict) else []
        scopes = [scope for scope in scopes if isinstance(scope, dict)]
        owner = next((text for scope in scopes if (text := _text(scope.get(k.OWNER)))), None)
        tags = next((found for scope in scopes if (found := _tags(scope.get(k.TAGS)))), ())
        return cls(platform=str(_field(row, "platform")), group=str(_field(row, "group_name")),
                   process=_text(_field(row, "process_name")), owner=owner, tags=tags)


@dataclass(frozen=True)
class Target:
    """The ``index``-th entry of ``integration`` in ``receiver``."""

    receiver: str
    integration: str
    index: int
    config: BaseModel


@dataclass(frozen=True)
class Route:
    name: str  # "routes[2]" or "default": for messages and metrics
    receiver: str
    repeat_interval_seconds: float
    storm_cap_per_minute: int
    send_resolved: bool


@dataclass(frozen=True)
class _Rule:
    route: Route
    match: Mapping[str, str]  # match key -> glob pattern
    continue_: bool

    def matches(self, labels: Labels) -> bool:
        return all(_fits(key, pattern, labels) for key, pattern in self.match.items())


def _fits(key: str, pattern: str, labels: Labels) -> bool:
    if key == _PIPELINE:
        return fnmatchcase(f"{labels.platform}/{labels.group}", pattern)
    if key == "tag":
        return any(fnmatchcase(tag, pattern) for tag in labels.tags)
    if key == "owner":
        # Airflow lists a DAG's several owners as "alice, bob": a pattern may match the whole or one of them.
        owner = labels.owner
        return owner is not None and (fnmatchcase(owner, pattern)
                                      or any(fnmatchcase(part.strip(), pattern) for part in owner.split(",")))
    value = getattr(labels, key)
    return value is not None and fnmatchcase(value, pattern)


class Unroutable(Exception):
    """Routing yields no recipient for an alert: it waits, unsent and not retried, until one is configured."""

    def __init__(self, pipelines: Iterable[tuple[str, str]], source: Path | None = None) -> None:
        names = sorted({f"{platform}/{group}" for platform, group in pipelines})
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        if source is None:
            message = (f"no recipients: set OTELMON_ALERT_RECIPIENTS or a route for {shown or 'its pipelines'}"
                       " (OTELMON_ALERT_ROUTES)")
        else:
            message = (f"no receiver: no route in {source.name} matches {shown or 'its pipelines'}"
                       " and it sets no default_receiver")
        super().__init__(message)


class Router:
    """Receivers and the routes to them, from the file or the legacy settings; immutable once built."""

    def __init__(self, *, source: Path | None, receivers: Mapping[str, tuple[Target, ...]],
                 rules: Iterable[_Rule], default: Route | None, alerts_enabled: bool = True,
                 settings_policy: tuple[float, int] | None = None) -> None:
        self.source = source
        self._receivers = dict(receivers)
        self._rules = tuple(rules)
        self._default = default
        self._alerts_enabled = alerts_enabled
        self._settings_policy = settings_policy

    # ------------------------------------------------------------------ building
    @classmethod
    def from_settings(cls, settings: Settings, environ: Mapping[str, str] | None = None) -> Router:
        """Raises ``ConfigurationError`` for a file that cannot be used."""
        if settings.notify_config is not None:
            return cls.from_config(load(settings.notify_config, environ), settings)
        return cls._legacy(settings)

    @classmethod
    def from_config(cls, config: NotifyConfig, settings: Settings) -> Router:
        receivers = {
            receiver.name: tuple(Target(receiver.name, integration, index, target)
                                 for integration, index, target in receiver.targets)
            for receiver in config.receivers
        }
        rules = [
            _Rule(Route(
                name=f"routes[{index}]",
                receiver=route.receiver,
                repeat_interval_seconds=(settings.alert_repeat_interval_seconds if route.repeat_interval is None
                                         else route.repeat_interval),
                storm_cap_per_minute=route.storm_cap_per_minute or settings.alert_storm_cap_per_minute,
                send_resolved=route.send_resolved,
            ), route.match.model_dump(exclude_none=True), route.continue_)
            for index, route in enumerate(config.routes)
        ]
        default = _default_route(config.default_receiver, settings) if config.default_receiver else None
        return cls(source=config.path, receivers=receivers, rules=rules, default=default,
                   alerts_enabled=settings.alerts_enabled, settings_policy=_settings_policy(settings))

    @classmethod
    def _legacy(cls, settings: Settings) -> Router:
        email = registry.config_model("email")
        receivers: dict[str, tuple[Target, ...]] = {}
        rules = []
        for index, legacy in enumerate(settings.alert_routes):
            name = f"route-{index}"
            receivers[name] = (Target(name, "email", 0, email(to=list(legacy.to))),) if legacy.to else ()
            rules.append(_Rule(_default_route(name, settings, f"routes[{index}]"), {_PIPELINE: legacy.match},
                               continue_=False))
        default = None
        if settings.alert_recipients:
            receivers[DEFAULT] = (Target(DEFAULT, "email", 0, email(to=list(settings.alert_recipients))),)
            default = _default_route(DEFAULT, settings)
        return cls(source=None, receivers=receivers, rules=rules, default=default,
                   alerts_enabled=settings.alerts_enabled, settings_policy=_settings_policy(settings))

    # ------------------------------------------------------------------ asking
    def routes_for(self, labels: Labels) -> list[Route]:
        """The first matching route, and the matching ones after it while the matched route says ``continue``;
        else the default route, if any; ``[]``: unroutable."""
        found: list[Route] = []
        for rule in self._rules:
            if rule.matches(labels):
                found.append(rule.route)
                if not rule.continue_:
                    break
        if not found and self._default is not None:
            found.append(self._default)
        return found

    def targets(self, receiver: str) -> list[Target]:
        """The receiver's targets in ``registry.INTEGRATIONS`` order; ``KeyError`` for an unknown receiver."""
        return list(self._receivers[receiver])

    def receiver(self, name: str) -> list[Target]:
        return self.targets(name)

    def receiver_names(self) -> list[str]:
        return list(self._receivers)

    def unroutable(self, pipelines: Iterable[tuple[str, str]]) -> Unroutable:
        """The error for alerts of ``pipelines`` that ``routes_for`` routes nowhere."""
        return Unroutable(pipelines, self.source)

    def can_route_any(self) -> bool:
        """Whether any alert at all can reach a target: if not, unroutable alerts need not be looked at."""
        routes = [rule.route for rule in self._rules] + ([self._default] if self._default else [])
        return any(self._receivers.get(route.receiver) for route in routes)

    def policies_vary(self) -> bool:
        """Whether some route sets its own repeat interval or storm cap: only then must dispatch find each
        alert's route (which costs reading every failure of a storm, not only the outbox)."""
        routes = [rule.route for rule in self._rules] + ([self._default] if self._default else [])
        policies = {(r.repeat_interval_seconds, r.storm_cap_per_minute) for r in routes}
        # Compared with the settings' too: routes that all set the same values of their own still differ from
        # the settings, which dispatch's fast path would apply.
        return bool(policies - {self._settings_policy}) or len(policies) > 1

    def warnings(self) -> list[str]:
        """What start-up logs and ``/readyz`` reports about where alerts can go."""
        if not self._alerts_enabled:
            return []
        if self.source is None:
            return _legacy_warnings(self._default is not None, self.can_route_any())
        found = []
        if self._default is None:
            found.append(f"no default_receiver in {self.source.name}: alerts that match no route wait as"
                         " 'unroutable'")
        used = {rule.route.receiver for rule in self._rules} | ({self._default.receiver} if self._default else set())
        found.extend(f"receiver {name!r} has no integrations: alerts routed to it go nowhere"
                     for name in self._receivers if name in used and not self._receivers[name])
        return found

    def describe(self) -> dict[str, Any]:
        """Receivers and routes as plain data, secrets masked (``SecretStr`` shows as ``**********``)."""
        return {
            "source": str(self.source) if self.source else LEGACY_SOURCE,
            "receivers": [
                {"name": name, "integrations": _integrations(targets)} for name, targets in self._receivers.items()
            ],
            "routes": [
                {"name": rule.route.name, "match": dict(rule.match), "receiver": rule.route.receiver,
                 "continue": rule.continue_, **_route_values(rule.route)}
                for rule in self._rules
            ],
            "default_receiver": (
                {"receiver": self._default.receiver, **_route_values(self._default)} if self._default else None
            ),
        }


def _settings_policy(settings: Settings) -> tuple[float, int]:
    return (settings.alert_repeat_interval_seconds, settings.alert_storm_cap_per_minute)


def _default_route(receiver: str, settings: Settings, name: str = DEFAULT) -> Route:
    return Route(name=name, receiver=receiver, repeat_interval_seconds=settings.alert_repeat_interval_seconds,
                 storm_cap_per_minute=settings.alert_storm_cap_per_minute, send_resolved=True)


def _route_values(route: Route) -> dict[str, Any]:
    return {"repeat_interval_seconds": route.repeat_interval_seconds,
            "storm_cap_per_minute": route.storm_cap_per_minute, "send_resolved": route.send_resolved}


def _integrations(targets: Iterable[Target]) -> dict[str, list[dict[str, Any]]]:
    shown: dict[str, list[dict[str, Any]]] = {}
    for target in targets:
        shown.setdefault(target.integration, []).append(target.config.model_dump(mode="json", exclude_none=True))
    return shown


def _legacy_warnings(has_default: bool, can_route: bool) -> list[str]:
    if has_default:
        return []
    if can_route:
        return ["no default alert recipients: alerts of pipelines that match no OTELMON_ALERT_ROUTES entry wait"
                " as 'unroutable' until OTELMON_ALERT_RECIPIENTS is set"]
    return ["no alert recipients configured: alerts wait as 'unroutable' until OTELMON_ALERT_RECIPIENTS"
            " (or OTELMON_ALERT_ROUTES) is set and the API restarted"]


def _field(row: Any, name: str) -> Any:
    return row.get(name) if isinstance(row, Mapping) else getattr(row, name, None)


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _tags(value: Any) -> tuple[str, ...]:
    """A string array as the instrumentation sets it, or comma-separated text (a resource attribute from
    ``OTEL_RESOURCE_ATTRIBUTES`` can only be text)."""
    items = value.split(",") if isinstance(value, str) else value if isinstance(value, list) else []
    return tuple(dict.fromkeys(text for item in items if (text := _text(item))))


# --------------------------------------------------------------------------- the email-only API of before
# Delivery asks these with the settings it runs with; they answer from the same Router.
def router_for(settings: Settings) -> Router:
    """``Router.from_settings``; a file is read once per process, as the API reads it at start (a file broken
    while the API runs must not break ``/readyz`` or delivery: the API is restarted to take a new one)."""
    path = settings.notify_config
    if path is None:
        return Router.from_settings(settings)
    key = (path, settings.alert_repeat_interval_seconds, settings.alert_storm_cap_per_minute,
           settings.alerts_enabled)
    router = _remembered.get(key)
    if router is None:
        router = Router.from_settings(settings)
        if len(_remembered) > 8:
            _remembered.clear()
        _remembered[key] = router
    return router


_remembered: dict[tuple, Router] = {}


def recipients_for(settings: Settings, platform: str, group: str) -> list[str]:
    router = router_for(settings)
    seen: dict[str, None] = {}
    for route in router.routes_for(Labels(platform, group)):
        for target in router.targets(route.receiver):
            if target.integration == "email":
                seen.update(dict.fromkeys(target.config.to))
    return list(seen)


def recipients_for_many(settings: Settings, pipelines: Iterable[tuple[str, str]]) -> list[str]:
    seen: dict[str, None] = {}
    for platform, group in pipelines:
        for address in recipients_for(settings, platform, group):
            seen.setdefault(address, None)
    return list(seen)


def can_route_any(settings: Settings) -> bool:
    """Whether any pipeline at all has a recipient: if not, unroutable alerts need not be looked at."""
    return router_for(settings).can_route_any()


def routing_warnings(settings: Settings) -> list[str]:
    """What start-up logs and ``/readyz`` reports about where alerts can go."""
    return router_for(settings).warnings()
