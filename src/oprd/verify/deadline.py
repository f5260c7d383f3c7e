"""Run a piece of work under a wall-clock limit from any thread.

math-verify's own timeouts use ``signal.alarm``, which works only in the main thread, while selection,
training and evaluation grade from worker threads. So math-verify runs with its timeouts disabled in a
fresh daemon thread per call, and the caller waits on it with ``Thread.join(timeout_s)``. On time-out
the caller gets the default at once and the abandoned worker is stopped by raising ``SystemExit`` inside
it (``PyThreadState_SetAsyncExc``): sympy is pure Python, so the exception lands at the next bytecode
(``SystemExit`` because math-verify swallows ``Exception``, and ``threading`` ignores it silently if it
escapes). One long C-level operation holding the GIL cannot be stopped this way, which is why
``equivalence`` refuses power towers up front. The thread costs about 0.1 ms per call.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def run_with_deadline(work: Callable[[], T], timeout_s: float, default: T) -> T:
    """``work()`` in a fresh daemon thread; ``default`` if it raises or is still running after ``timeout_s``."""
    result: list[T] = []

    def target() -> None:
        try:
            result.append(work())
        except BaseException:  # an error, or the SystemExit sent on time-out: no result means the default
            return

    worker = threading.Thread(target=target, name="oprd-verify", daemon=True)
    worker.start()
    worker.join(timeout_s)
    if worker.is_alive():
        _stop(worker)
        return default
    return result[0] if result else default


def _stop(worker: threading.Thread) -> None:
    """Raise SystemExit inside ``worker`` at its next Python bytecode (CPython's async-exception API)."""
    if worker.ident is not None:
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(worker.ident), ctypes.py_object(SystemExit))
