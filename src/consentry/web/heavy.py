"""Work a page request hands to a thread (fingerprinting an upload, checking an image):
a few at a time per worker, the rest waiting their turn in the event loop, so that a
batch of large images slows its senders, not every other page and the API."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import anyio
from starlette.concurrency import run_in_threadpool
from starlette.formparsers import MultiPartParser

__all__ = ["HeavyWork", "keep_uploads_in_memory"]

_T = TypeVar("_T")


class HeavyWork:
    """At most ``slots`` calls at once; a caller waits without holding a thread."""

    def __init__(self, slots: int) -> None:
        self._slots = slots
        self._gate: anyio.Semaphore | None = None

    async def run(self, work: Callable[..., _T], *args: object) -> _T:
        if self._gate is None:  # made in the worker's own event loop
            self._gate = anyio.Semaphore(self._slots)
        async with self._gate:
            return await run_in_threadpool(work, *args)


def keep_uploads_in_memory(limit: int) -> None:
    """Uploaded files stay in memory up to the service's body limit (which bounds a
    request), not spooled to a temporary file past 1 MiB: the pages promise that what
    is fingerprinted or checked is never written anywhere."""
    MultiPartParser.spool_max_size = max(MultiPartParser.spool_max_size, limit)
