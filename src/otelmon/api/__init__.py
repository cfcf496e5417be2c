"""The HTTP API (FastAPI): the OTLP receiver, the failure API, health and metrics."""
