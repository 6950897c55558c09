"""Ctrl-C during a run: finish the chunk in hand, checkpoint, then stop.

A run interrupted between two items would leave an output line its state does not
count, and a resume would decide that item twice. So the first Ctrl-C only asks the
run to stop at the next chunk boundary, where everything decided is checkpointed; a
second one stops at once (the last checkpoint still stands).
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

__all__ = ["StopRequest", "ignore_interrupts", "start_worker", "stop_on_interrupt"]


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


def _exit_with(parent: int) -> None:
    # A worker shares its pool's pipes with its siblings, so when the main process is
    # killed (kill -9 included) no worker ever reads end-of-file: it must notice itself.
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os._exit(1)


def start_worker(parent: int) -> None:
    """For worker processes, as their pool's initializer (``parent``: the main
    process's id): Ctrl-C is the main process's to handle, and a worker whose main
    process dies, however it dies, exits within a second instead of waiting forever."""
    ignore_interrupts()
    threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()
