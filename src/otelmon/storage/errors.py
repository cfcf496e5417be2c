"""Storage failures as the API reports them: always retryable (503), never a lost batch."""

from __future__ import annotations


class DatabaseUnavailable(Exception):
    """The database could not take the write or answer the read; nothing was committed."""
