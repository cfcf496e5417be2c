"""A client that checks every answer against /openapi.json: its status is declared for its path and method."""

from __future__ import annotations

import re

import httpx


def declared_statuses(spec: dict, method: str, path: str) -> set[str]:
    for template, operations in spec["paths"].items():
        pattern = "^" + re.sub(r"\{[^}/]+\}", "[^/]+", template) + "$"
        if re.match(pattern, path) and method.lower() in operations:
            return set(operations[method.lower()]["responses"])
    raise AssertionError(f"{method} {path} is not in the OpenAPI document")


def declared_client(base_url: str, **kwargs) -> httpx.Client:
    """An httpx client whose every answer fails the test unless the OpenAPI document declares its status."""
    spec = httpx.get(f"{base_url}/openapi.json", timeout=10).raise_for_status().json()

    def check(response: httpx.Response) -> None:
        request = response.request
        statuses = declared_statuses(spec, request.method, request.url.path)
        assert str(response.status_code) in statuses, (
            f"{request.method} {request.url.path} answered {response.status_code}; OpenAPI declares {sorted(statuses)}"
        )

    return httpx.Client(base_url=base_url, event_hooks={"response": [check]}, timeout=30, **kwargs)
