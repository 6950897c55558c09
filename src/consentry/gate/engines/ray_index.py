"""The match index held by Ray actors, a shard each, for a run whose workers route their
lookups to it (``RayEngine(index_shards=N)``): the registry can outgrow one machine's
memory, where otherwise every node holds the whole index.

The driver cuts the run's index into shards by fingerprint hash (``ShardedIndex.split``),
puts each shard into the object store once and starts one actor per shard to hold it,
spread over the cluster's nodes. The workers' gates get a ``ShardedIndex`` over
``ShardProxy``s in the index's place: the roster (each row's work and owner, which name
the matches) travels with the decider, and each lookup sends a shard only the queries
routed to it, in one round trip per shard and lookup kind for a whole chunk, the shards
(and a chunk's independent lookups) asked at once. The answers are combined where the
lookup was made, by the code that combines a local sharded index's, so they are the
whole index's.

An index actor that dies fails the lookup waiting on it with ``IndexShardLostError``;
the shard of the corpus being decided fails with it and the run stops, its decided
shards kept. ``--resume`` starts the index actors again.

Ray is imported by the caller (``consentry.gate.engines.ray``) and handed in; where a
proxy runs, Ray is already loaded.
"""

from __future__ import annotations

import importlib
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache, partial
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from consentry.gate.engines import EngineUnavailableError, IndexShardLostError
from consentry.index import MatchIndex
from consentry.index.keypoints import Neighbours
from consentry.index.shard import Shard
from consentry.index.sharded import ShardedIndex
from consentry.interrupts import ignore_interrupts

__all__ = ["HeldIndex", "ShardProxy", "at_once", "hold_index"]

I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]
U32 = npt.NDArray[np.uint32]
T = TypeVar("T")

# What an index actor answers: ``Shard``'s lookups, and nothing else of it.
_LOOKUPS = frozenset(
    {
        "exact",
        "band_candidates",
        "agreement",
        "excerpt_rows",
        "image_rows_near",
        "keypoint_neighbours",
    }
)
# Index shards asked at once by one process; more wait for a free thread.
_AT_ONCE = 32


class _IndexShard:
    """A Ray actor holding one shard of the match index, answering its lookups."""

    def __init__(self, shard: Shard) -> None:
        # Ctrl-C is the driver's to handle: the shards running finish, and need this.
        ignore_interrupts()
        self._shard = shard
        self._served: Counter[str] = Counter()

    def ready(self) -> None:
        """Answers once the shard is held."""

    def served(self) -> dict[str, int]:
        """How many calls of each lookup this actor has answered."""
        return dict(self._served)

    def lookup(self, name: str, *args: Any) -> Any:
        if name not in _LOOKUPS:
            raise ValueError(f"an index shard answers {sorted(_LOOKUPS)}, not {name!r}")
        self._served[name] += 1
        return getattr(self._shard, name)(*args)


@dataclass(frozen=True, slots=True)
class ShardProxy:
    """Shard ``number`` of the ``shards`` of an index, held by the Ray actor ``actor``:
    ``Shard``'s lookups, each one round trip to it. Each raises
    ``IndexShardLostError`` once the actor is gone."""

    actor: Any
    number: int
    shards: int
    # Known when the shard was cut: asked of every shard before any keypoint lookup.
    keypoint_count: int

    def exact(self, digests: npt.NDArray[np.uint8]) -> tuple[I64, I64]:
        found: tuple[I64, I64] = self._asked("exact", digests)
        return found

    def band_candidates(self, bands: I64, keys: U64) -> tuple[I64, I64]:
        found: tuple[I64, I64] = self._asked("band_candidates", bands, keys)
        return found

    def agreement(self, signatures: U32, which: I64, rows: I64) -> I64:
        found: I64 = self._asked("agreement", signatures, which, rows)
        return found

    def excerpt_rows(self, hashes: U64, max_works: int) -> tuple[I64, I64]:
        found: tuple[I64, I64] = self._asked("excerpt_rows", hashes, max_works)
        return found

    def image_rows_near(
        self, groups: Sequence[Sequence[bytes]], limit: int
    ) -> list[tuple[I64, list[float]]]:
        found: list[tuple[I64, list[float]]] = self._asked(
            "image_rows_near", [list(hashes) for hashes in groups], limit
        )
        return found

    def keypoint_neighbours(self, queries: Sequence[npt.NDArray[np.uint8]]) -> list[Neighbours]:
        found: list[Neighbours] = self._asked("keypoint_neighbours", list(queries))
        return found

    def _asked(self, name: str, *args: Any) -> Any:
        ray = importlib.import_module("ray")
        try:
            return ray.get(self.actor.lookup.remote(name, *args))
        except ray.exceptions.RayActorError as exc:
            raise IndexShardLostError(
                f"the Ray actor holding index shard {self.number} of {self.shards} is gone "
                f"({type(exc).__name__})"
            ) from exc


# How deep in fanned-out calls this thread is: calls fanned out from a call that was
# fanned out itself go to the next level's threads, so no call waits on calls queued
# behind it for a thread of its own level.
_LEVEL = threading.local()


@cache
def _asking(level: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=_AT_ONCE, thread_name_prefix=f"index-shards-{level}")


def _called_at(level: int, call: Callable[[], T]) -> T:
    _LEVEL.depth = level
    return call()


def at_once(calls: Sequence[Callable[[], T]]) -> list[T]:
    """Every call made at once, each in a thread of its own waiting on its round trip:
    a lookup waits for its slowest shard, not for the sum of them."""
    if len(calls) < 2:
        return [call() for call in calls]
    level = getattr(_LEVEL, "depth", 0) + 1
    return list(_asking(level).map(partial(_called_at, level), calls))


@dataclass(frozen=True, slots=True)
class HeldIndex:
    """An index held by Ray actors, a shard each (``objects``: each shard as put into
    the object store), and the router a worker's gate asks in its place."""

    router: ShardedIndex[ShardProxy]
    actors: list[Any]
    objects: list[Any]

    def object_bytes(self, ray: Any) -> int:
        """The bytes of the shards' objects, together."""
        found = ray.experimental.get_object_locations(self.objects)
        return sum(int((found.get(o) or {}).get("object_size") or 0) for o in self.objects)

    def served(self, ray: Any) -> list[dict[str, int]]:
        """Per index shard, how many calls of each lookup its actor answered."""
        answered: list[dict[str, int]] = ray.get([a.served.remote() for a in self.actors])
        return answered

    def ready(self, ray: Any) -> None:
        """Wait until every actor holds its shard. Raises ``EngineUnavailableError``
        (the actors stopped) when one cannot start."""
        try:
            ray.get([actor.ready.remote() for actor in self.actors])
        except ray.exceptions.RayError as exc:
            self.release(ray)
            raise EngineUnavailableError(
                f"the {len(self.actors)} Ray actors to hold the match index's shards did "
                f"not all start ({type(exc).__name__}: {exc})"
            ) from exc

    def release(self, ray: Any) -> None:
        """Stop the actors; the shards leave the object store with the last reference."""
        for actor in self.actors:
            ray.kill(actor)


def hold_index(ray: Any, index: MatchIndex, shards: int) -> HeldIndex:
    """``index`` cut into ``shards`` shards, each put into the object store once and held
    by an actor of its own, the actors spread over the cluster's nodes. Returns as they
    start (``HeldIndex.ready`` waits for them): a lookup sent meanwhile waits its turn."""
    split = ShardedIndex.split(index, shards=shards)
    objects = [ray.put(shard) for shard in split.shards]
    # No CPU of the cluster's reserved: an index actor answers lookups that a worker
    # waits on, and on a cluster of as many CPUs as workers none would ever start.
    holder = ray.remote(num_cpus=0, max_restarts=0, scheduling_strategy="SPREAD")(_IndexShard)
    actors = [holder.remote(shard) for shard in objects]
    proxies = [
        ShardProxy(actor, number, shards, shard.keypoint_count)
        for number, (actor, shard) in enumerate(zip(actors, split.shards, strict=True))
    ]
    router = ShardedIndex(split.roster, proxies, split.params, fan_out=at_once)
    return HeldIndex(router, actors, objects)
