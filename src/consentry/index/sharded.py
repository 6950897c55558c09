"""``ShardedIndex``: the match index cut by fingerprint hash into shards that can live
on different workers, so the registry can outgrow one machine's memory.

A lookup routes each of the query's fingerprints to the one shard that keeps it
(``shard_of``): exact digests, band keys and excerpt hashes go to one shard each; a
near copy's candidates are then scored where their signatures live; a PDQ hash or a
set of keypoints, which match by distance rather than by equality, is asked of every
shard. Each shard answers with plain arrays of rows, and the rules that need the whole
picture (a near match found for too many works, an excerpt's hit count and spans, the
strongest match per work) run once over the merged answers, in ``_combine``, the same
code ``MatchIndex`` runs: the answers are ``MatchIndex``'s for the same works.

The shards need not be here: the index routes to anything that answers a shard's
lookups (``ShardLookups``), such as a proxy for a shard held by another process, which
costs one round trip per shard and lookup for a whole batch of queries; ``fan_out``
says how the shards asked for one lookup are waited on (in turn, or at once).

Saved as one folder per shard, one for the roster (each row's work and owner, which
name the matches) and ``index.json``; memory-mapped on load.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

import numpy as np
import numpy.typing as npt

from consentry.errors import InputError
from consentry.fingerprint import ExcerptFingerprints, StreamPrints
from consentry.fingerprint.keypoints import Keypoints
from consentry.index import _combine, _kernels
from consentry.index._storage import Arrays, read_manifest, write_index
from consentry.index.keypoints import Neighbours, keypoint_verdicts
from consentry.index.match_index import MatchIndex, MatchParams, params_json, params_of
from consentry.index.records import IndexedWork, Match
from consentry.index.segment import BANDS, PERMUTATIONS, band_keys
from consentry.index.shard import Shard, ShardLookups, digest_words, shard_of

__all__ = ["FanOut", "Roster", "ShardedIndex", "in_turn"]

# Bumped whenever the shard or roster layout changes.
_FORMAT = 1
_WHAT = "sharded match index"

I64 = npt.NDArray[np.int64]
T = TypeVar("T")
S = TypeVar("S", bound=ShardLookups)


class FanOut(Protocol):
    """How the shards asked for one lookup are waited on: every call made, and the
    answers returned in the calls' order."""

    def __call__(self, calls: Sequence[Callable[[], T]]) -> list[T]: ...


def in_turn(calls: Sequence[Callable[[], T]]) -> list[T]:
    """Each call made after the one before: for shards held in this process."""
    return [call() for call in calls]


@dataclass(frozen=True, slots=True)
class Roster(Arrays):
    """Per row of the whole index: its work, owner, kind, and view (1 for a code
    work's text view). Small beside the postings, so every router holds it whole."""

    work_ids: npt.NDArray[np.str_]
    owner_ids: npt.NDArray[np.str_]
    kinds: npt.NDArray[np.str_]
    views: npt.NDArray[np.uint8]


@dataclass(frozen=True, slots=True)
class _Names:
    works: list[str]
    owners: list[str]


def _merged(found: Sequence[tuple[I64, I64]]) -> tuple[I64, I64]:
    """Shards' (query, row) pairs as one list, by query and then row."""
    if not found:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    queries = np.concatenate([q for q, _ in found])
    rows = np.concatenate([r for _, r in found])
    order = np.lexsort((rows, queries))
    return queries[order], rows[order]


@dataclass
class ShardedIndex(_combine.Matcher, Generic[S]):
    """A match index cut into ``len(shards)`` shards by fingerprint hash: ``Shard``s
    held here (``split``, ``load``), or stand-ins answering for shards held elsewhere."""

    roster: Roster
    shards: Sequence[S]
    params: MatchParams = field(default_factory=MatchParams)
    fan_out: FanOut = field(default=in_turn, repr=False, compare=False)
    _names: _Names = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._names = _Names(self.roster.work_ids.tolist(), self.roster.owner_ids.tolist())

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled without the names: where it is unpickled they are made again from the
        # roster, which so travels once, not twice.
        return type(self), (self.roster, self.shards, self.params, self.fan_out)

    # -- building ---------------------------------------------------------------------

    @classmethod
    def build(
        cls, works: Iterable[IndexedWork], *, shards: int, params: MatchParams | None = None
    ) -> ShardedIndex[Shard]:
        """``works`` indexed in ``shards`` shards; raises ``InputError`` for fewer than one."""
        return cls.split(MatchIndex.build(works, params=params), shards=shards)

    @classmethod
    def split(cls, index: MatchIndex, *, shards: int) -> ShardedIndex[Shard]:
        """``index`` cut into ``shards`` shards, answering as it does (for image
        keypoints, as it does compacted); raises ``InputError`` for fewer than one."""
        if shards < 1:
            raise InputError(f"a sharded index needs at least one shard, not {shards}")
        segments = index.segments

        def joined(name: str) -> npt.NDArray[np.generic]:
            arrays = [getattr(segment, name) for segment in segments]
            return np.concatenate(arrays) if arrays else np.zeros(0, np.uint8)

        roster = Roster(
            work_ids=joined("work_ids").astype(np.str_),
            owner_ids=joined("owner_ids").astype(np.str_),
            kinds=joined("kinds").astype(np.str_),
            views=joined("views").astype(np.uint8),
        )
        return ShardedIndex(roster, Shard.split(segments, shards), index.params)

    @property
    def size(self) -> int:
        """Registered works held (a code work's text view is not counted twice)."""
        return int((self.roster.views == 0).sum())

    def work_ids(self) -> set[str]:
        return set(self._names.works)

    # -- persistence ------------------------------------------------------------------

    def digest(self: ShardedIndex[Shard]) -> str:
        """SHA-256 naming this index's content and parameters."""
        return self._digest([shard.digest() for shard in self.shards])

    def _digest(self, shards: Sequence[str]) -> str:
        hasher = hashlib.sha256(json.dumps(params_json(self.params), sort_keys=True).encode())
        hasher.update(self.roster.digest().encode())
        for digest in shards:
            hasher.update(digest.encode())
        return hasher.hexdigest()

    def save(self: ShardedIndex[Shard], folder: Path) -> str:
        """Write the index to ``folder`` crash-safely, a folder per shard; returns its
        digest."""
        count, digests = len(self.shards), [shard.digest() for shard in self.shards]
        names = [f"shard-{n:03d}-of-{count:03d}-{d[:16]}" for n, d in enumerate(digests)]
        roster = f"roster-{self.roster.digest()[:16]}"
        digest = self._digest(digests)
        manifest = {
            "format": _FORMAT,
            "roster": roster,
            "shards": names,
            "shard_digests": digests,
            "params": params_json(self.params),
            "digest": digest,
        }
        parts: list[tuple[str, Arrays]] = [(roster, self.roster)]
        parts += zip(names, self.shards, strict=True)
        write_index(folder, parts, manifest, kinds=["roster", "shard"])
        return digest

    @classmethod
    def load(cls, folder: Path, *, mmap: bool = True) -> ShardedIndex[Shard]:
        """Load a saved sharded index, memory-mapped unless ``mmap`` is False.

        Raises ``InputError`` when the folder holds none or one that fails its digest.
        """
        manifest = read_manifest(folder, _FORMAT, _WHAT)
        try:
            index = ShardedIndex(
                Roster.load(folder / manifest["roster"], mmap=mmap),
                [Shard.load(folder / name, mmap=mmap) for name in manifest["shards"]],
                params_of(manifest["params"]),
            )
        except (OSError, ValueError, TypeError, KeyError) as exc:
            raise InputError(f"{_WHAT} in {folder} is incomplete ({exc}); rebuild it") from exc
        if index.digest() != manifest["digest"]:
            raise InputError(f"{_WHAT} in {folder} does not match its recorded digest; rebuild it")
        return index

    @staticmethod
    def load_shard(folder: Path, number: int, *, mmap: bool = True) -> Shard:
        """Shard ``number`` alone of the index saved in ``folder``: what a worker that
        answers for one shard loads.

        Raises ``InputError`` when it is missing or fails its recorded digest.
        """
        manifest = read_manifest(folder, _FORMAT, _WHAT)
        try:
            digest = manifest["shard_digests"][number]
            shard = Shard.load(folder / manifest["shards"][number], mmap=mmap)
        except (OSError, ValueError, TypeError, KeyError, IndexError) as exc:
            raise InputError(
                f"shard {number} of the {_WHAT} in {folder} is missing ({exc}); rebuild it"
            ) from exc
        if shard.digest() != digest:
            raise InputError(
                f"shard {number} of the {_WHAT} in {folder} does not match its recorded "
                "digest; rebuild it"
            )
        return shard

    # -- lookups: route, ask each shard, combine --------------------------------------

    def _streams(self, streams: Sequence[StreamPrints]) -> list[list[Match]]:
        # The three lookups are independent: fanned out together, shards answered
        # elsewhere cost a batch two waits (digests, band keys and excerpts; then the
        # candidates' scores), not four.
        exact, near, excerpts = self.fan_out(
            [
                partial(self._exact, [stream.digest for stream in streams]),
                partial(self._near, [stream.signature for stream in streams]),
                partial(self._excerpts, [stream.excerpts for stream in streams]),
            ]
        )
        return [e + n + x for e, n, x in zip(exact, near, excerpts, strict=True)]

    def _routed(self, values: npt.NDArray[np.uint64]) -> list[tuple[S, I64]]:
        """Each shard with the positions of ``values`` it keeps, where it keeps any."""
        route = shard_of(values, len(self.shards))
        found = []
        for number, shard in enumerate(self.shards):
            mine = np.flatnonzero(route == number)
            if len(mine):
                found.append((shard, mine))
        return found

    def _exact(self, digests: Sequence[bytes]) -> list[list[Match]]:
        valid, keys = _combine.digest_queries(digests)
        asked = self._routed(digest_words(keys))
        answers = self.fan_out([partial(shard.exact, keys[mine]) for shard, mine in asked])
        found = [(mine[q], rows) for (_, mine), (q, rows) in zip(asked, answers, strict=True)]
        queries, rows = _merged(found)
        return _combine.exact_matches(len(digests), valid, [(self._names, queries, rows)])

    def _near(self, signatures: Sequence[npt.NDArray[np.uint32]]) -> list[list[Match]]:
        valid, queries = _combine.signature_queries(signatures)
        keys = band_keys(queries).reshape(-1)
        bands = np.tile(np.arange(BANDS), len(queries))
        # Round one: the rows sharing a band key with each query, each pair once.
        asked = self._routed(keys)
        answers = self.fan_out(
            [partial(shard.band_candidates, bands[mine], keys[mine]) for shard, mine in asked]
        )
        found = [
            (mine[which] // BANDS, rows)
            for (_, mine), (which, rows) in zip(asked, answers, strict=True)
        ]
        query_of, rows = _merged(found)
        first = np.ones(len(rows), dtype=bool)
        first[1:] = (query_of[1:] != query_of[:-1]) | (rows[1:] != rows[:-1])
        query_of, rows = query_of[first], rows[first]
        # Round two: each candidate scored where its row's signature lives.
        home = rows % len(self.shards)
        scored: list[tuple[I64, Callable[[], I64]]] = []
        for number, shard in enumerate(self.shards):
            mine = np.flatnonzero(home == number)
            if len(mine):
                held, which = np.unique(query_of[mine], return_inverse=True)
                ask = partial(shard.agreement, queries[held], which.astype(np.int64), rows[mine])
                scored.append((mine, ask))
        equal = np.zeros(len(rows), dtype=np.int64)
        for (mine, _), agreed in zip(scored, self.fan_out([ask for _, ask in scored]), strict=True):
            equal[mine] = agreed
        scores = equal / PERMUTATIONS
        near = scores >= self.params.near_threshold
        part = (self._names, query_of[near], rows[near], scores[near])
        return _combine.near_matches(
            len(signatures), valid, [part], self.params.max_works_per_fingerprint
        )

    def _excerpts(self, queries: Sequence[ExcerptFingerprints]) -> list[list[Match]]:
        sizes = [len(query) for query in queries]
        if not any(sizes):
            return [[] for _ in queries]
        bounds, hashes, offsets = _combine.excerpt_queries(queries)
        most = self.params.max_works_per_fingerprint
        asked = self._routed(_kernels.posting_keys(hashes))
        answers = self.fan_out(
            [partial(shard.excerpt_rows, hashes[mine], most) for shard, mine in asked]
        )
        found = [
            (mine[which], rows) for (_, mine), (which, rows) in zip(asked, answers, strict=True)
        ]
        held, rows = _merged(found)
        # The shards have already set boilerplate aside and kept one posting per (hash,
        # row): as one posting per pair of a hash held by one work, the kernel that
        # groups a segment's evidence groups these by row, counts them and draws spans.
        one = np.arange(len(held), dtype=np.int64)
        evidence = _kernels.excerpt_evidence_many(
            held,
            one,
            one + 1,
            np.ones(len(hashes), dtype=np.int64),
            1,
            rows.astype(np.uint32),
            offsets,
            self.params.noise,
            np.searchsorted(held, bounds),
        )
        return _combine.excerpt_matches(
            sizes, [(self._names, evidence)], self.params.min_excerpt_hits
        )

    def _images(self, hashes: Sequence[bytes], keypoints: Sequence[bytes] = ()) -> list[Match]:
        return self._images_many([(hashes, keypoints)])[0]

    def _images_many(
        self, queries: Sequence[tuple[Sequence[bytes], Sequence[bytes]]]
    ) -> list[list[Match]]:
        # Close PDQ hashes and matching keypoints need not share a route: every shard
        # is asked, once for all the images.
        by_hash = self._near_hashes([list(hashes) for hashes, _ in queries])
        by_keypoints = self._keypoint_verdicts(
            [[Keypoints.from_bytes(k) for k in keypoints] for _, keypoints in queries]
        )
        return [
            _combine.image_matches([(self._names, hashed)], [(self._names, pointed)])
            for hashed, pointed in zip(by_hash, by_keypoints, strict=True)
        ]

    def _near_hashes(self, groups: Sequence[Sequence[bytes]]) -> list[list[tuple[int, float]]]:
        """Per image's PDQ hashes, the rows within the distance and their scores."""
        found: list[list[tuple[int, float]]] = [[] for _ in groups]
        if not any(groups):
            return found
        limit = self.params.pdq_max_distance
        per_shard = self.fan_out([partial(s.image_rows_near, groups, limit) for s in self.shards])
        for k, hashes in enumerate(groups):
            if hashes:
                rows = np.concatenate([answers[k][0] for answers in per_shard])
                scores = [score for answers in per_shard for score in answers[k][1]]
                found[k] = [(int(rows[i]), scores[i]) for i in np.argsort(rows, kind="stable")]
        return found

    def _keypoint_verdicts(
        self, images: Sequence[Sequence[Keypoints]]
    ) -> list[list[tuple[int, float]]]:
        """Per image's keypoint sets (its own and its mirror image's), the rows they
        map onto."""
        verdicts: list[list[tuple[int, float]]] = [[] for _ in images]
        # As the single index, which looks nothing up among fewer than two keypoints.
        if not any(images) or sum(shard.keypoint_count for shard in self.shards) < 2:
            return verdicts
        params = self.params.keypoints
        asked = [
            (k, j)
            for k, queries in enumerate(images)
            for j, query in enumerate(queries)
            if len(query) >= params.min_inliers
        ]
        descriptors = [images[k][j].descriptors for k, j in asked]
        per_shard = (
            self.fan_out([partial(s.keypoint_neighbours, descriptors) for s in self.shards])
            if asked
            else []
        )
        neighbours: list[list[Neighbours | None]] = [[None] * len(q) for q in images]
        for n, (k, j) in enumerate(asked):
            neighbours[k][j] = Neighbours.nearest_of([answers[n] for answers in per_shard])
        for k, queries in enumerate(images):
            if queries:
                verdicts[k] = keypoint_verdicts(queries, neighbours[k], params)
        return verdicts
