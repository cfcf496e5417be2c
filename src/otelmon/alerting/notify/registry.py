"""Every integration by the name a receiver uses for it in the configuration file.

Modules are imported when first used, so an optional one (Apprise) costs nothing unless configured.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from pydantic import BaseModel

from otelmon.alerting.notify.base import Notifier, NotifyContext

# Order is the order a receiver's integrations are listed and tried in.
INTEGRATIONS: dict[str, str] = {
    "email": "otelmon.alerting.notify.email",
    "slack": "otelmon.alerting.notify.slack",
    "msteams": "otelmon.alerting.notify.msteams",
    "telegram": "otelmon.alerting.notify.telegram",
    "googlechat": "otelmon.alerting.notify.googlechat",
    "discord": "otelmon.alerting.notify.discord",
    "pagerduty": "otelmon.alerting.notify.pagerduty",
    "webhook": "otelmon.alerting.notify.webhook",
    "apprise": "otelmon.alerting.notify.apprise",
}


def integration_module(name: str) -> ModuleType:
    return importlib.import_module(INTEGRATIONS[name])


def config_model(name: str) -> type[BaseModel]:
    return integration_module(name).Config


def build(name: str, config: BaseModel, context: NotifyContext, receiver: str) -> Notifier:
    """A notifier for one target of ``receiver`` (the receiver's name appears in some payloads, e.g. the
    webhook's Alertmanager body)."""
    return integration_module(name).build(config, context, receiver)
