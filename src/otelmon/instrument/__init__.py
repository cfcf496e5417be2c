"""Instrumentation that makes pipeline steps report themselves as spans OtelMon understands.

``provider`` builds the bounded OTLP/HTTP export from the standard ``OTEL_*`` variables, ``spans`` says what
every span carries, ``owner`` which span reports a failure (and its causes), ``stacktrace`` trims our own
frames from a recorded error, ``tracing`` is ``@traced`` and ``step``, ``job`` a plain Python job's
identity and ``airflow`` turns Airflow task tries into spans. Jobs and DAGs use it as ``import trace_log``.
"""
