"""Immediate alerts, split as Alertmanager does: outbox (intents), dispatch (group, throttle, cap), routing
(which receivers), view (what an alert says, in no channel's format), notify/ (one module per integration
behind one Notifier interface), delivery (per target: claim, record, retries), sender and worker (the loops
inside the API process)."""
