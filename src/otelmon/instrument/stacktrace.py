"""Stack traces as a person reads them: the frames of OtelMon's own wrappers left out.

An exception recorded by ``@traced`` or ``step()`` travels through our wrapper and ``contextlib``; printed as
Python prints it, the trace in the alert would open with those frames instead of the user's code.
"""

from __future__ import annotations

import contextlib
import os
import traceback

_INSTRUMENT_DIR = os.path.dirname(os.path.abspath(__file__))
_CONTEXTLIB = os.path.abspath(contextlib.__file__)
# Chained exceptions ("raise ... from ...") are followed this deep, as far as Python prints them anyway.
_MAX_CHAIN = 50


def _is_wrapper(filename: str) -> bool:
    path = os.path.abspath(filename)
    return path == _CONTEXTLIB or os.path.dirname(path) == _INSTRUMENT_DIR


def user_stacktrace(error: BaseException) -> str:
    """``traceback.format_exception(error)`` without our wrapper's frames, in every exception of the chain.

    A trace made only of our frames (an error in OtelMon itself) is kept whole: it is then the useful one.
    """
    formatted = traceback.TracebackException.from_exception(error)
    pending, seen = [formatted], set()
    while pending and len(seen) < _MAX_CHAIN:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        kept = [frame for frame in current.stack if not _is_wrapper(frame.filename)]
        if kept and len(kept) < len(current.stack):
            current.stack = traceback.StackSummary.from_list(kept)
        pending.extend(chained for chained in (current.__cause__, current.__context__) if chained is not None)
    return "".join(formatted.format())
