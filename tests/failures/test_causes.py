import json

from otelmon.failures.causes import StepCause, step_causes


def test_causes_are_read_from_the_stored_span_attributes():
    stored = json.dumps({"resource": {"service.name": "python"}, "span": {
        "otelmon.cause.steps": ["extract", "validate"],
        "otelmon.cause.types": ["ValueError", "ValueError"],
        "otelmon.cause.messages": ["bad row 2"],  # shorter than the steps: the rest is unknown, not an error
    }})
    assert step_causes(stored) == [StepCause("extract", "ValueError", "bad row 2"),
                                   StepCause("validate", "ValueError", None)]


def test_anything_else_has_no_causes():
    for stored in (None, "", "not json", "[]", json.dumps({"truncated": True, "size": 10**6}),
                   json.dumps({"span": {"otelmon.cause.steps": "validate"}}), {"span": {}}):
        assert step_causes(stored) == []
