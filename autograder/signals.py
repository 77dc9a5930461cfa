"""Ctrl-C and SIGTERM held back while code runs that must not be cut in two.

Python raises the exception of a signal's handler (``KeyboardInterrupt``, the grader's
``SystemExit``) between any two bytecodes of the main thread. Some steps leave shared state
broken when cut there: a lock between processes taken and never given back, a process pool whose
workers are forked but never told to end. :func:`deferred` runs such a step whole and handles
the signals that came meanwhile right after it, as they would have been handled.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

STOPS = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def deferred(signals: tuple[int, ...] = STOPS) -> Iterator[None]:
    """Hold back ``signals`` in the block, then handle them. Blocking them is not enough:
    another thread of the process may receive them, and Python then raises in the main thread
    all the same; so their handlers are replaced for the block by one that notes them. Only the
    main thread runs handlers: elsewhere this does nothing. A process forked in the block
    inherits the noting handler, and loses the signals it notes, until it sets its own."""
    noted: list[int] = []
    replaced = {}
    if threading.current_thread() is threading.main_thread():
        replaced = {number: signal.getsignal(number) for number in signals}
    try:
        for number in replaced:
            signal.signal(number, lambda number, frame: noted.append(number))
        yield
    finally:
        for number, handler in replaced.items():
            signal.signal(number, handler if handler is not None else signal.SIG_DFL)
        for number in noted:
            signal.raise_signal(number)  # handled now, as it would have been
