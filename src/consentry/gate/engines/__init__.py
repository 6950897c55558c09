"""Engines that decide a run's shards: each shard decided by ``decide`` (into a part of
its own), wherever the engine runs it, and reported done to the caller, which merges
the parts in shard order (``consentry.gate.parts``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from consentry.gate.shards import Shard

__all__ = ["Engine"]


class Engine(Protocol):
    def run(
        self,
        shards: Sequence[Shard],
        decide: Callable[[Shard], dict[str, Any]],
        *,
        on_done: Callable[[Shard, dict[str, Any]], None],
        stop: Callable[[], bool] = ...,
    ) -> None:
        """Decide every shard with ``decide`` (a picklable callable: the engine may run
        it in another process), calling ``on_done(shard, what decide returned)`` here
        as each finishes, in any order; once ``stop()`` says so, start no other shard.
        Stops at the first failure and raises it."""
        ...
