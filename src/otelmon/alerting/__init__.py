"""Immediate alerts, split as Alertmanager does: outbox (intents), dispatch (group, throttle, cap),
compose (template), delivery (notify with retries), worker (the loop inside the API process)."""
