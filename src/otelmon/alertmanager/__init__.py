"""Prometheus's stack-health alerts, delivered by Alertmanager's webhook, as OtelMon failures and runs."""
