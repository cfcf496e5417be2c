"""Tracing for Airflow tasks, importable from any DAG as ``import trace_log``.

A thin alias: the one implementation is ``otelmon.instrument`` (see ``otelmon.instrument.airflow`` for the
three ways in: the cluster policy, the callbacks, and ``@traced`` / ``step``).
"""

from otelmon.instrument.airflow import (
    CALLBACKS,
    OPT_OUT_PARAM,
    OPT_OUT_TAG,
    default_args,
    instrument_task,
    on_execute,
    on_failure,
    on_retry,
    on_skipped,
    on_success,
    step,
    traced,
)
from otelmon.instrument.provider import flush, get_tracer

__all__ = [
    "CALLBACKS",
    "OPT_OUT_PARAM",
    "OPT_OUT_TAG",
    "default_args",
    "flush",
    "get_tracer",
    "instrument_task",
    "on_execute",
    "on_failure",
    "on_retry",
    "on_skipped",
    "on_success",
    "step",
    "traced",
]
