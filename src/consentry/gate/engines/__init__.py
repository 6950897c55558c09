"""Engines that decide a run's shards: each shard decided by ``decide`` (into a part of
its own), wherever the engine runs it, and reported done to the caller, which merges
the parts in shard order (``consentry.gate.parts``).

    ConsentryError
    ├── ConfigurationError
    │   └── EngineUnavailableError   the engine asked for is not installed or reachable
    ├── ShardFailedError             deciding one shard failed; names it
    └── IndexShardLostError          the worker holding a shard of the match index is
                                     gone (a lookup's failure, which fails the shard)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from enum import StrEnum
from typing import Any, Protocol

from consentry.errors import ConfigurationError, ConsentryError
from consentry.gate.shards import Shard

__all__ = [
    "Engine",
    "EngineName",
    "EngineUnavailableError",
    "IndexShardLostError",
    "ShardFailedError",
]


class EngineName(StrEnum):
    """Where a run's shards are decided: processes on this machine, or a Ray cluster."""

    LOCAL = "local"
    RAY = "ray"


class EngineUnavailableError(ConfigurationError):
    """The engine a run asked for cannot be used here (not installed, not reachable)."""


class ShardFailedError(ConsentryError):
    """Deciding a shard failed in a worker; the message names the shard and the cause."""

    def __init__(self, message: str, *, shard: Shard) -> None:
        super().__init__(message)
        self.shard = shard


class IndexShardLostError(ConsentryError):
    """A lookup found the worker holding its shard of the match index gone; the message
    names the index shard. The shard of the corpus being decided fails with it."""


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
        it in another process, or send it once to each of its workers, so what every
        shard needs belongs in it), calling ``on_done(shard, what decide returned)``
        here as each finishes, in any order; once ``stop()`` says so, start no other
        shard. Stops at the first failure and raises it."""
        ...
