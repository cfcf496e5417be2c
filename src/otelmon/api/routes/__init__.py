"""One router per concern; ``otelmon.api.app`` mounts them."""
