"""Run a piece of work under a wall-clock limit from any thread.

In the main thread (on Unix) the limit is a ``SIGALRM`` interval timer, as math-verify's own timeouts
are: no extra thread, no hand-off (which costs milliseconds on a busy machine). Signals work only in
the main thread, while selection, training and evaluation may grade from worker threads; there the
work runs in a fresh daemon thread per call, and the caller waits on it with ``Thread.join(timeout_s)``
(math-verify's own timeouts are disabled in both cases). On time-out
the caller gets the default at once and the abandoned worker is stopped by raising ``SystemExit`` inside
it (``PyThreadState_SetAsyncExc``): sympy is pure Python, so the exception lands at the next bytecode
(``SystemExit`` because math-verify swallows ``Exception``, and ``threading`` ignores it silently if it
escapes). One long C-level operation holding the GIL cannot be stopped this way, which is why
``equivalence`` refuses power towers up front. The thread costs about 0.1 ms per call.
"""

from __future__ import annotations

import ctypes
import signal
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class _Expired(BaseException):
    """Raised by the timer inside the work (a BaseException: math-verify swallows ``Exception``)."""


def run_with_deadline(work: Callable[[], T], timeout_s: float, default: T) -> T:
    """``work()``, or ``default`` if it raises or is still running after ``timeout_s`` seconds."""
    if threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer"):
        return _with_timer(work, timeout_s, default)
    return _in_thread(work, timeout_s, default)


def _with_timer(work: Callable[[], T], timeout_s: float, default: T) -> T:
    """Main thread: a SIGALRM timer interrupts the work; any earlier handler and timer are restored."""

    def expire(signum: int, frame: object) -> None:
        raise _Expired()

    previous = signal.signal(signal.SIGALRM, expire)
    remaining, _ = signal.setitimer(signal.ITIMER_REAL, timeout_s)
    try:
        return work()
    except BaseException as error:  # an error in the work, or _Expired: the default answer
        if isinstance(error, (KeyboardInterrupt, SystemExit)):
            raise
        return default
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if remaining:
            signal.setitimer(signal.ITIMER_REAL, remaining)


def _in_thread(work: Callable[[], T], timeout_s: float, default: T) -> T:
    """Any other thread: ``work()`` in a fresh daemon thread, abandoned and stopped on time-out."""
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
