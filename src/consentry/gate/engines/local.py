"""The local engine: a run's shards decided by worker processes on this machine, each
a whole shard at a time, as many at once as there are workers."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any

from consentry.gate.parallel import exit_with_parent
from consentry.gate.shards import Shard
from consentry.interrupts import ignore_interrupts

__all__ = ["LocalEngine"]


def _start(parent: int) -> None:
    # Ctrl-C is the main process's to handle: a worker finishes its shard.
    ignore_interrupts()
    threading.Thread(target=exit_with_parent, args=(parent,), daemon=True).start()


class LocalEngine:
    """``workers`` processes, each deciding one shard after another."""

    def __init__(self, workers: int) -> None:
        self.workers = workers

    def run(
        self,
        shards: Sequence[Shard],
        decide: Callable[[Shard], dict[str, Any]],
        *,
        on_done: Callable[[Shard, dict[str, Any]], None],
        stop: Callable[[], bool] = lambda: False,
    ) -> None:
        """As ``Engine.run``; ``stop()`` asked between shards: once it says so, no
        further shard starts, and those running finish (their parts are kept)."""
        if not shards:
            return
        pool = ProcessPoolExecutor(
            max_workers=min(self.workers, len(shards)),
            initializer=_start,
            initargs=(os.getpid(),),
        )
        waiting = list(reversed(shards))
        running: dict[Future[dict[str, Any]], Shard] = {}
        try:
            while waiting or running:
                while waiting and len(running) < self.workers and not stop():
                    shard = waiting.pop()
                    running[pool.submit(decide, shard)] = shard
                if not running:
                    return
                done, _ = wait(running, timeout=0.5, return_when=FIRST_COMPLETED)
                for future in done:
                    shard = running.pop(future)
                    on_done(shard, future.result())
                if stop() and not running:
                    return
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
