"""Ctrl-C and ``kill`` (SIGTERM) between steps, so that a run can save a state it can resume.

A loop that checkpoints runs inside :func:`deferred`: a signal only sets a flag, and the
loop ends its current step, saves, and calls :meth:`Deferred.raise_if_signalled`, which
raises :class:`Interrupted` (a ``KeyboardInterrupt``). A second signal interrupts at once.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Iterator

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(KeyboardInterrupt):
    """The run was stopped by ``signum``; what it had finished is saved."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class Deferred:
    """The first SIGINT or SIGTERM received while deferred, to act on at a safe point."""

    def __init__(self) -> None:
        self.signum: int | None = None

    @property
    def pending(self) -> bool:
        return self.signum is not None

    def raise_if_signalled(self) -> None:
        """Raise KeyboardInterrupt (its ``signum`` set) if a signal came."""
        if self.signum is not None:
            raise Interrupted(self.signum)


@contextlib.contextmanager
def deferred(enabled: bool = True) -> Iterator[Deferred]:
    """Hold SIGINT/SIGTERM until the loop asks (only in the main thread, where Python
    delivers signals; elsewhere, or when not ``enabled``, signals act as usual)."""
    state = Deferred()
    if not enabled or threading.current_thread() is not threading.main_thread():
        yield state
        return
    previous = {signum: signal.getsignal(signum) for signum in _SIGNALS}

    def hold(signum: int, frame: object) -> None:
        state.signum = signum
        for held in _SIGNALS:  # a second signal acts at once
            signal.signal(held, previous[held])

    for signum in _SIGNALS:
        signal.signal(signum, hold)
    try:
        yield state
    finally:
        for signum in _SIGNALS:
            signal.signal(signum, previous[signum])
