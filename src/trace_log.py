"""Tracing for Airflow tasks and plain Python jobs, importable as ``import trace_log``.

A thin alias: the one implementation is ``otelmon.instrument``: ``tracing`` for ``@traced`` and ``step``,
``job`` for a plain job's identity (``configure``), ``airflow`` for the cluster policy and the callbacks.
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
)
from otelmon.instrument.job import configure
from otelmon.instrument.provider import flush, get_tracer
from otelmon.instrument.tracing import step, traced

__all__ = [
    "CALLBACKS",
    "OPT_OUT_PARAM",
    "OPT_OUT_TAG",
    "configure",
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
