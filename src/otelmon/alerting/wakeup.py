"""How the alert loops sleep: until their next piece of work is due, or until something wakes them."""

from __future__ import annotations

import asyncio


async def sleep_until_woken(event: asyncio.Event, timeout: float) -> None:
    """Wait up to ``timeout`` seconds, less if ``event`` is set; then clear it for the next sleep."""
    if timeout > 0:
        try:
            await asyncio.wait_for(event.wait(), timeout=timeout)
        except (TimeoutError, asyncio.TimeoutError):
            pass
    event.clear()
