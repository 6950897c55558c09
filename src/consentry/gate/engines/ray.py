"""The Ray engine: a run's shards decided by long-lived Ray actors, one per worker, on a
cluster started here for the run (``workers`` CPUs, listening on loopback only, no
dashboard, workers' logs kept out of the run's output) or on one already running at
``address``.

What every shard needs (for the gate: the match index, the consent table, the policy)
travels inside ``decide``, which is put into the object store once per run and handed
to each actor when it starts: a node fetches it once, and every actor on the node reads
it from there, numpy arrays without a copy. No shard and no batch carries it; a shard
sent to an actor is four integers. Parts are written where the run's ``OUT`` is, so a
cluster of several machines needs the corpus and ``OUT`` on storage they all see.

Ray core (actors), not Ray Data: a shard is the unit of completion and resumption, so
it is decided whole by one worker into its part, and the driver must be able to stop
handing out shards while the running ones finish; a dataset pipeline owns its own
scheduling and cancels what is in flight when stopped. Each worker reads its own shard
(a byte range, row groups) from storage with the readers the local engine uses, so the
items, their names and the outputs are the same, and the corpus itself never passes
through the object store; when the columnar engine takes Arrow batches, a worker reads
its shard as batches the same way.

With ``index_shards`` the index does not go to every node: it is cut into that many
shards by fingerprint hash, each held by an actor of its own (``ray_index``), and the
decider travels with a router in its place, which sends each shard only the lookups
routed to it, a round trip per shard and lookup kind for a whole chunk. Past one
machine's memory, the index is spread over the cluster's.

Ray is an optional dependency (``pip install 'consentry[ray]'``), imported only by this
engine, when a run asks for it.
"""

from __future__ import annotations

import importlib
import ipaddress
import logging
import os
import signal
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager, nullcontext
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Protocol, runtime_checkable

from consentry.errors import InputError
from consentry.gate.engines import EngineUnavailableError, IndexShardLostError, ShardFailedError
from consentry.gate.engines._reaper import reaped
from consentry.gate.engines.ray_index import HeldIndex, hold_index
from consentry.gate.shards import Shard
from consentry.index import MatchIndex
from consentry.index.sharded import ShardedIndex
from consentry.interrupts import ignore_interrupts

__all__ = ["IndexCarrier", "RayEngine", "Shipped", "import_ray"]

# Read by Ray when it is first imported: with clusters of several machines off, Ray
# takes this node's address to be the loopback one, so a cluster started here binds its
# processes to it and nothing outside this machine can reach them. A run that joins a
# cluster elsewhere by address leaves it on: that cluster's other nodes must reach
# this one.
_LOOPBACK = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}
_POLL_SECONDS = 0.5


def import_ray(address: str | None = None) -> ModuleType:
    """The ``ray`` module, for a cluster started here (``address`` None) or joined at
    ``address``: on the loopback address only unless that cluster is elsewhere.
    Raises ``EngineUnavailableError`` when it is not installed."""
    local = address is None or _is_loopback(address)
    added = {k: v for k, v in _LOOPBACK.items() if local and k not in os.environ}
    os.environ.update(added)
    try:
        return importlib.import_module("ray")
    except ImportError as exc:
        raise EngineUnavailableError(
            "the Ray engine needs Ray, which is not installed: pip install 'consentry[ray]'"
        ) from exc
    finally:
        for name in added:
            del os.environ[name]


def _is_loopback(address: str) -> bool:
    host = address.rsplit(":", 1)[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: a cluster on other machines


@dataclass(frozen=True, slots=True)
class Shipped:
    """What a run put into the object store: one object of ``object_bytes`` (the
    decider), held by ``nodes`` nodes, read by ``workers`` actors; with the index held
    by actors, its ``index_shards`` shards, of ``index_bytes`` together, each held by
    one of them."""

    object_bytes: int
    nodes: int
    workers: int
    index_shards: int = 0
    index_bytes: int = 0

    @property
    def bytes_per_worker(self) -> int:
        return self.object_bytes * self.nodes // max(self.workers, 1)

    def to_json(self) -> dict[str, int]:
        found = {
            "object_store_bytes": self.object_bytes,
            "nodes": self.nodes,
            "workers": self.workers,
            "object_store_bytes_per_worker": self.bytes_per_worker,
        }
        if self.index_shards:
            found |= {
                "index_shards": self.index_shards,
                "index_object_store_bytes": self.index_bytes,
                "index_object_store_bytes_per_shard": self.index_bytes // self.index_shards,
            }
        return found


@runtime_checkable
class IndexCarrier(Protocol):
    """A decider whose gates look matches up in the match index it carries, which can
    travel with a router in the index's place (``RayEngine(index_shards=N)``)."""

    def carried_index(self) -> MatchIndex:
        """The whole index it carries."""
        ...

    def routed_to(self, index: ShardedIndex[Any]) -> Callable[[Shard], dict[str, Any]]:
        """The same decider, its gates asking ``index`` (the carried one, sharded)."""
        ...


class _ShardWorker:
    """A Ray actor deciding one shard after another with the ``decide`` it got once."""

    def __init__(self, decide: Callable[[Shard], dict[str, Any]]) -> None:
        # Ctrl-C is the driver's to handle: a running shard finishes.
        ignore_interrupts()
        self._decide = decide

    def decide(self, shard: Shard) -> dict[str, Any]:
        return self._decide(shard)


class RayEngine:
    """``workers`` Ray actors, each deciding one shard after another; on a cluster
    started for the run, or on the one at ``address``. With ``index_shards``, the
    decider's index (an ``IndexCarrier``'s) is held by that many actors, a shard each,
    and looked up there; with none, every node holds it whole."""

    def __init__(self, workers: int, *, address: str | None = None, index_shards: int = 0) -> None:
        """Raises ``InputError`` for a negative count of index shards."""
        if index_shards < 0:
            raise InputError(
                f"--index-shards {index_shards}: give 0 (each node holds the whole index) "
                "or the number of actors to hold its shards"
            )
        self.workers = workers
        self.address = address
        self.index_shards = index_shards
        # What the last run shipped through the object store (None before one ran).
        self.shipped: Shipped | None = None

    def run(
        self,
        shards: Sequence[Shard],
        decide: Callable[[Shard], dict[str, Any]],
        *,
        on_done: Callable[[Shard, dict[str, Any]], None],
        stop: Callable[[], bool] = lambda: False,
    ) -> None:
        """As ``Engine.run``; ``stop()`` asked between shards: once it says so, no
        further shard starts, and those running finish (their parts are kept). Raises
        ``EngineUnavailableError`` without Ray or a cluster, ``ShardFailedError``
        naming the shard whose decision failed (or the index shard whose actor went),
        ``InputError`` for index shards asked of a decider that carries no index."""
        if not shards:
            return
        carrier = _carrier(decide) if self.index_shards else None
        ray = import_ray(self.address)
        with _connected(ray, workers=self.workers, address=self.address), ExitStack() as held:
            index: HeldIndex | None = None
            if carrier is not None:
                index = hold_index(ray, carrier.carried_index(), self.index_shards)
                held.callback(index.release, ray)
                decide = carrier.routed_to(index.router)
            shared = ray.put(decide)
            count = min(self.workers, len(shards))
            # SPREAD: on a cluster of several nodes every node gets workers, and so
            # fetches the shared object once for all of them.
            actor = ray.remote(num_cpus=1, max_restarts=0, scheduling_strategy="SPREAD")(
                _ShardWorker
            )
            actors = [actor.remote(shared) for _ in range(count)]
            held.callback(_killed, ray, actors)
            if index is not None:
                # The workers and the index actors start together; shards wait for both.
                index.ready(ray)
            _schedule(ray, actors, shards, on_done=on_done, stop=stop)
            self.shipped = _shipped(ray, shared, count, index)


def _carrier(decide: object) -> IndexCarrier:
    if not isinstance(decide, IndexCarrier):
        raise InputError(
            "index shards are held for a decider that carries its match index (the gate's "
            f"on Ray), not for a {type(decide).__name__}"
        )
    return decide


def _killed(ray: Any, actors: list[Any]) -> None:
    for each in actors:
        ray.kill(each)


def _schedule(
    ray: Any,
    actors: list[Any],
    shards: Sequence[Shard],
    *,
    on_done: Callable[[Shard, dict[str, Any]], None],
    stop: Callable[[], bool],
) -> None:
    """Each idle actor given the next shard until none is left or ``stop()``."""
    idle = list(actors)
    waiting = list(reversed(shards))
    running: dict[Any, tuple[Shard, Any]] = {}
    while waiting or running:
        while waiting and idle and not stop():
            shard, worker = waiting.pop(), idle.pop()
            running[worker.decide.remote(shard)] = (shard, worker)
        if not running:
            return
        done, _ = ray.wait(list(running), num_returns=1, timeout=_POLL_SECONDS)
        for ref in done:
            shard, worker = running.pop(ref)
            idle.append(worker)
            on_done(shard, _result(ray, ref, shard))


def _result(ray: Any, ref: Any, shard: Shard) -> dict[str, Any]:
    """What deciding ``shard`` returned; its failure as ``ShardFailedError``."""
    where = f"shard {shard.number} (from item {shard.first_line:,} of the corpus)"
    try:
        result: dict[str, Any] = ray.get(ref)
    except ray.exceptions.RayTaskError as exc:
        cause = exc.cause if isinstance(exc.cause, BaseException) else exc
        if isinstance(cause, IndexShardLostError):
            raise ShardFailedError(
                f"{cause} while {where} was decided; the shards decided are kept: run "
                "again with --resume",
                shard=shard,
            ) from cause
        raise ShardFailedError(
            f"{where} failed: {cause}; the shards decided are kept: mend the cause and "
            "run again with --resume",
            shard=shard,
        ) from cause
    except ray.exceptions.RayActorError as exc:
        raise ShardFailedError(
            f"the Ray worker deciding {where} died ({type(exc).__name__}); the shards "
            "decided are kept: run again with --resume",
            shard=shard,
        ) from exc
    return result


def _shipped(ray: Any, shared: Any, workers: int, index: HeldIndex | None) -> Shipped:
    found = ray.experimental.get_object_locations([shared]).get(shared) or {}
    size, nodes = int(found.get("object_size") or 0), len(found.get("node_ids") or ())
    if index is None:
        return Shipped(size, nodes, workers)
    return Shipped(size, nodes, workers, len(index.actors), index.object_bytes(ray))


@contextmanager
def _connected(ray: Any, *, workers: int, address: str | None) -> Iterator[None]:
    """Connected to a cluster for as long as inside: the caller's own connection if it
    has one, else a new one, closed on leaving (a cluster started here with it)."""
    if ray.is_initialized():
        yield
        return
    # Ray sets variables for the processes it starts; the caller's process is left as
    # it was found once the run is over.
    environ = dict(os.environ)
    options: dict[str, Any] = {
        "include_dashboard": False,
        "log_to_driver": False,
        "logging_level": logging.ERROR,
    }
    try:
        with reaped() if address is None else nullcontext():
            if address is None:
                _start_cluster(ray, workers=workers, options=options)
            else:
                _join_cluster(ray, address, options)
            try:
                yield
            finally:
                ray.shutdown()
    finally:
        os.environ.clear()
        os.environ.update(environ)


def _start_cluster(ray: Any, *, workers: int, options: dict[str, Any]) -> None:
    # Ray's own processes inherit an ignored SIGINT: Ctrl-C, which reaches the whole
    # process group, stops the run between shards instead of the cluster under it.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        ray.init(num_cpus=workers, **options)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise EngineUnavailableError(
            f"a local Ray cluster of {workers} worker(s) did not start ({exc}); its logs "
            "are in Ray's session_latest/logs folder"
        ) from exc
    finally:
        signal.signal(signal.SIGINT, previous)


def _join_cluster(ray: Any, address: str, options: dict[str, Any]) -> None:
    try:
        ray.init(address=address, **options)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise EngineUnavailableError(
            f"no Ray cluster answers at --address {address} ({exc}); give the address "
            "of a running cluster's head, or leave --address out to start one here"
        ) from exc
