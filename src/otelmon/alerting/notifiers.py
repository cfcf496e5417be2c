"""The notifiers of one sending process: where an alert goes (its targets, from the router) and the
notifier of each target, built once and reused, all sharing one HTTP client."""

from __future__ import annotations

import inspect
from collections.abc import Iterable

from otelmon.alerting.notify import registry
from otelmon.alerting.notify.base import Notifier, NotifyContext
from otelmon.alerting.notify.http import new_client
from otelmon.alerting.routing import Labels, Router, Target
from otelmon.config import Settings


class Notifiers:
    def __init__(self, settings: Settings, router: Router | None = None, installation: str = "") -> None:
        self.settings = settings
        self.router = router or Router.from_settings(settings)
        self.context = NotifyContext(settings, http=new_client(), installation=installation)
        self._built: dict[tuple[str, str, int], Notifier] = {}
        # The installation's key for signing action links, read at the first claim.
        self.secret: bytes | None = None

    def targets_for(self, labels: Iterable[Labels]) -> list[Target]:
        """Every target of every receiver the routes give these labels, each once. Two email targets with the
        same addresses are one (a storm summary's pipelines may route to receivers sharing a mailbox)."""
        out: dict[tuple[str, str, int], Target] = {}
        mailboxes: set[tuple[str, ...]] = set()
        for one in labels:
            for route in self.router.routes_for(one):
                for target in self.router.targets(route.receiver):
                    if target.integration == "email":
                        addresses = tuple(sorted(target.config.to))
                        if not addresses or addresses in mailboxes:
                            continue
                        mailboxes.add(addresses)
                    out.setdefault((target.receiver, target.integration, target.index), target)
        return list(out.values())

    def target(self, receiver: str, integration: str, index: int) -> Target | None:
        """The target a delivery was created for, if the configuration still has it."""
        try:
            targets = self.router.targets(receiver)
        except (KeyError, LookupError):
            return None
        for target in targets:
            if target.integration == integration and target.index == index:
                return target
        return None

    def notifier(self, target: Target) -> Notifier:
        key = (target.receiver, target.integration, target.index)
        built = self._built.get(key)
        if built is None:
            built = self._built[key] = registry.build(target.integration, target.config, self.context,
                                                      target.receiver)
        return built

    async def aclose(self) -> None:
        for name in {key[1] for key in self._built}:
            close = getattr(registry.integration_module(name), "aclose", None)
            if close is not None and inspect.iscoroutinefunction(close):
                await close(self.context)
        await self.context.http.aclose()
