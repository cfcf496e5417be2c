"""The console: OtelMon's own web pages (issues, failures, silences, alerts, receivers, the next digest).

The pages are served by ``otelmon.api.console``; this package holds what they need that is not HTTP: signed
sessions and CSRF tokens (``session.py``), and the static assets (``static/``), so the console works offline."""
