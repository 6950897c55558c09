"""Matching in worker processes, results in corpus order.

Workers do the CPU-heavy half of a decision (fingerprinting and index lookups) on a
memory-mapped copy of the saved index; the main process keeps the consent half and the
writing, in order, so checkpoints and ``--resume`` work exactly as with one process.
At most ``4 x workers`` chunks, holding at most a run's chunk budget of bytes, are in
flight: a fast reader cannot outrun the workers, nor large items fill the memory.
"""

from __future__ import annotations

import gc
import os
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path

from consentry.errors import InputError
from consentry.gate.gate import Gate
from consentry.gate.item import CHUNK_BYTES, Item, chunked, held_bytes
from consentry.index import Match, MatchIndex
from consentry.interrupts import ignore_interrupts
from consentry.terms import Price, UseDecision

__all__ = ["Found", "exit_with_parent", "find_in_order"]

Found = list[Match] | str
_WORKER: Gate | None = None


class _NoConsent:
    """Workers only match; deciding consent there would be a bug."""

    def decide(self, work_ids: Sequence[str]) -> Mapping[str, UseDecision]:
        raise RuntimeError("consent is decided in the main process")

    def price_of(self, grant_id: str) -> Price | None:
        raise RuntimeError("prices are looked up in the main process")


def exit_with_parent(parent: int) -> None:
    # A worker shares the pool's pipes with its siblings, so when the main process is
    # killed (kill -9 included) no worker ever reads end-of-file: it must notice itself.
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os._exit(1)


def _start(index_folder: str, parent: int, min_span: int = 200) -> None:
    global _WORKER  # noqa: PLW0603 - one gate per worker process, built once
    ignore_interrupts()
    threading.Thread(target=exit_with_parent, args=(parent,), daemon=True).start()
    _WORKER = Gate(
        index=MatchIndex.load(Path(index_folder)), consent=_NoConsent(), min_span=min_span
    )
    gc.freeze()  # the worker's gate lives as long as it does: never worth rescanning


def _find(items: list[Item]) -> list[Found]:
    assert _WORKER is not None  # noqa: S101 - set by the pool initialiser
    return _WORKER.find_many(items)


def find_in_order(
    items: Iterable[Item],
    *,
    index_folder: Path,
    workers: int,
    chunk: int = 32,
    min_span: int = 200,
    max_bytes: int = CHUNK_BYTES,
) -> Iterator[tuple[Item, Found]]:
    """Each item with what ``Gate.find`` returns for it, in the order given. Chunks of
    ``chunk`` items go to the workers; those in flight hold at most ``max_bytes``
    (or one chunk, should it be larger by itself).

    An ``InputError`` from ``items`` (a corpus damaged part way) is raised after every
    item read before it has been yielded."""
    # Each chunk is an even share of the budget, so large items still spread over
    # every worker.
    batches = chunked(
        items, held=held_bytes, max_items=chunk, max_bytes=max(1, max_bytes // (4 * workers))
    )
    pending: deque[tuple[list[Item], int, Future[list[Found]]]] = deque()
    held = 0
    failure: InputError | None = None
    pool = ProcessPoolExecutor(
        max_workers=workers, initializer=_start, initargs=(str(index_folder), os.getpid(), min_span)
    )
    try:
        while True:
            batch = None
            if failure is None:
                try:
                    batch = next(batches, None)
                except InputError as exc:
                    failure = exc
            if batch is not None:
                size = sum(held_bytes(item) for item in batch)
                pending.append((batch, size, pool.submit(_find, batch)))
                held += size
            while pending and (batch is None or len(pending) >= 4 * workers or held >= max_bytes):
                done, size, future = pending.popleft()
                held -= size
                yield from zip(done, future.result(), strict=True)
            if batch is None:
                if failure is not None:
                    raise failure
                return
    finally:
        # A run that stops early (interrupted, or an error) does not wait for the
        # chunks still queued: nobody will read them.
        pool.shutdown(wait=True, cancel_futures=True)
