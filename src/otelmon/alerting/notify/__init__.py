"""Notifiers: one module per integration, all behind one interface (``base.Notifier``).

How to add a channel: write ``<integration>.py`` here with a ``Config`` (a pydantic model of one target's
settings, ``extra="forbid"``, secrets as ``SecretStr``) and a ``build(config, context, receiver) -> Notifier``, then
name it in ``registry.INTEGRATIONS``. The configuration file (``OTELMON_NOTIFY_CONFIG``) accepts it under a
receiver at once, and delivery, retries and the ``notify test`` command need no change.
"""
