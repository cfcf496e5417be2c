"""Instrumentation that makes pipeline steps report themselves as spans OtelMon understands.

``provider`` builds the bounded OTLP/HTTP export from the standard ``OTEL_*`` variables, ``spans`` says what
every span carries, ``airflow`` turns Airflow task tries into spans. DAGs use it as ``import trace_log``.
"""
