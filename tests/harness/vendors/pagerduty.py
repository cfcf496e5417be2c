"""A loopback stand-in for PagerDuty's Events API v2, as documented.

Sources: PagerDuty/api-schema ``reference/events-v2/openapiv3.json`` (commit
5cd58ff2b5eebc209eaf19e0ff6ca8f40bdd5a94: the request schema below is its ``/enqueue`` request body, ``Payload``,
``Links`` and ``Images``, with ``additionalProperties: false`` added so that a field PagerDuty does not know is
caught here) and developer.pagerduty.com "Send an Alert Event" (routing keys are 32 characters, ``summary`` at
most 1024, ``dedup_key`` at most 255, an event at most 512 KB; ``payload`` is required to trigger and
``dedup_key`` to resolve).

Answers: 202 ``{"status": "success", "message": "Event processed", "dedup_key": ...}``; 400 ``{"status":
"invalid event", "message": "Event object is invalid", "errors": [...]}``; 400 ``{"status": "Unrecognized
object", ...}`` for a body that is not JSON; 404 for any other path.
"""

from __future__ import annotations

import uuid
from typing import Any

import jsonschema

from tests.harness.vendor_server import Recorded, Reply, VendorServer

PATH = "/v2/enqueue"
MAX_EVENT_BYTES = 512 * 1024
_LINKS = {"type": "array", "items": {"type": "object", "additionalProperties": False, "required": ["href"],
                                     "properties": {"href": {"type": "string"}, "text": {"type": "string"}}}}
_IMAGES = {"type": "array", "items": {"type": "object", "additionalProperties": False, "required": ["src"],
                                      "properties": {"src": {"type": "string"}, "href": {"type": "string"},
                                                     "alt": {"type": "string"}}}}
_PAYLOAD = {
    "type": "object", "additionalProperties": False, "required": ["summary", "severity", "source"],
    "properties": {
        "summary": {"type": "string", "maxLength": 1024},
        # "format": "date-time" in the OpenAPI; a pattern, since jsonschema checks formats only with extras
        "timestamp": {"type": "string",
                      "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$"},
        "severity": {"enum": ["critical", "warning", "error", "info"]},
        "source": {"type": "string"},
        "component": {"type": "string"},
        "group": {"type": "string"},
        "class": {"type": "string"},
        "custom_details": {"type": "object"},
    },
}
EVENT_SCHEMA: dict[str, Any] = {
    "type": "object", "additionalProperties": False, "required": ["routing_key", "event_action"],
    "properties": {
        "payload": _PAYLOAD,
        "routing_key": {"type": "string", "minLength": 32, "maxLength": 32},
        "event_action": {"enum": ["trigger", "acknowledge", "resolve"]},
        "dedup_key": {"type": "string", "maxLength": 255},
        "client": {"type": "string"},
        "client_url": {"type": "string"},
        "links": _LINKS,
        "images": _IMAGES,
    },
    "allOf": [
        {"if": {"properties": {"event_action": {"const": "trigger"}}}, "then": {"required": ["payload"]}},
        {"if": {"properties": {"event_action": {"enum": ["acknowledge", "resolve"]}}},
         "then": {"required": ["dedup_key"]}},
    ],
}
_VALIDATOR = jsonschema.Draft202012Validator(EVENT_SCHEMA)


def invalid(*errors: str) -> Reply:
    return Reply(400, {"status": "invalid event", "message": "Event object is invalid", "errors": list(errors)})


def _error_text(error: jsonschema.ValidationError) -> str:
    where = ".".join(str(part) for part in error.absolute_path)
    if where == "routing_key" and error.validator in ("minLength", "maxLength"):
        return "Length of 'routing_key' is incorrect (should be 32 characters)"  # PagerDuty's own words
    return f"'{where or 'event'}' {error.message}"


class PagerDutyStandIn(VendorServer):
    """Every accepted event is in ``events`` (decoded), in order."""

    def __init__(self) -> None:
        super().__init__(self._answer)
        self.events: list[dict[str, Any]] = []

    @property
    def enqueue_url(self) -> str:
        return self.url + PATH

    def _answer(self, request: Recorded) -> Reply:
        if request.method != "POST" or request.path != PATH:
            return Reply(404, {"status": "Not Found", "message": "Not Found"})
        try:
            event = request.json()
        except ValueError:
            return Reply(400, {"status": "Unrecognized object", "message": "Event object format is unrecognized",
                               "errors": ["JSON parse error"]})
        errors = [_error_text(error) for error in _VALIDATOR.iter_errors(event)]
        if len(request.body) > MAX_EVENT_BYTES:
            errors.append("Event exceeds the 512 KB size limit")
        if errors:
            return invalid(*errors)
        self.events.append(event)
        return Reply(202, {"status": "success", "message": "Event processed",
                           "dedup_key": event.get("dedup_key") or uuid.uuid4().hex})
