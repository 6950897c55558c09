"""Ctrl-C during a run: finish the chunk in hand, checkpoint, then stop.

A run interrupted between two items would leave an output line its state does not
count, and a resume would decide that item twice. So the first Ctrl-C only asks the
run to stop at the next chunk boundary, where everything decided is checkpointed; a
second one stops at once (the last checkpoint still stands).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

__all__ = ["StopRequest", "ignore_interrupts", "stop_on_interrupt"]


class StopRequest:
    """Whether the user asked the run to stop."""

    def __init__(self) -> None:
        self.asked = False


@contextmanager
def stop_on_interrupt() -> Iterator[StopRequest]:
    """While inside, the first SIGINT sets ``asked`` and the next raises
    ``KeyboardInterrupt`` as usual. Outside the main thread, where Python delivers no
    signals, it only yields a request nobody sets."""
    request = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield request
        return
    previous = signal.getsignal(signal.SIGINT)

    def ask(signum: int, frame: FrameType | None) -> None:
        request.asked = True
        signal.signal(signal.SIGINT, previous)

    signal.signal(signal.SIGINT, ask)
    try:
        yield request
    finally:
        signal.signal(signal.SIGINT, previous)


def ignore_interrupts() -> None:
    """For worker processes: Ctrl-C reaches the whole process group, and the main
    process, not each worker, decides how the work stops (and prints why)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
