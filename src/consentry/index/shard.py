"""``Shard``: one part of a ``ShardedIndex``, and how fingerprints are routed to it.

Each exact digest, each LSH band key and each excerpt hash is kept by exactly one
shard, chosen by its hash (``shard_of``), and so is each PDQ hash. What is kept per
registered row (its MinHash signature, its image keypoints) lives in the shard
``row % shards``. A shard answers for what it keeps only, taking and returning plain
arrays, so it can be answered in another process or on another machine (whatever
answers ``ShardLookups`` can stand in for it); the combining of the answers is
``ShardedIndex``'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from consentry.index import _kernels
from consentry.index._storage import Arrays
from consentry.index.keypoints import Neighbours
from consentry.index.segment import BANDS, PERMUTATIONS, Segment, image_hits, posting_lookup

__all__ = ["Shard", "ShardLookups", "digest_words", "shard_of"]

U64 = npt.NDArray[np.uint64]
U32 = npt.NDArray[np.uint32]
I64 = npt.NDArray[np.int64]


def shard_of(values: U64, shards: int) -> I64:
    """The shard of ``shards`` that keeps each 64-bit fingerprint value."""
    routes: I64 = _kernels.shard_routes(values, shards)
    return routes


def digest_words(digests: npt.NDArray[np.uint8]) -> U64:
    """The first eight bytes of each digest (rows of 32 bytes), which route it."""
    words = np.ascontiguousarray(digests[:, :8]).view("<u8").reshape(-1)
    return words.astype(np.uint64)


def _ranges(lefts: I64, rights: I64) -> tuple[I64, I64]:
    """Every position of the ranges ``[lefts[i], rights[i])`` and the ``i`` of each."""
    lengths = rights - lefts
    which = np.repeat(np.arange(len(lefts)), lengths)
    starts = np.cumsum(lengths) - lengths
    positions = np.arange(int(lengths.sum())) - np.repeat(starts - lefts, lengths)
    return which, positions


class ShardLookups(Protocol):
    """What a ``ShardedIndex`` asks of each of its shards: a ``Shard`` held here, or a
    stand-in for one held elsewhere. Every lookup takes a whole batch's queries for
    the shard and answers in plain arrays, so a shard in another process costs one
    round trip per lookup and batch, never one per item."""

    @property
    def keypoint_count(self) -> int:
        """How many image keypoints the shard keeps."""
        ...

    def exact(self, digests: npt.NDArray[np.uint8]) -> tuple[I64, I64]:
        """As ``Shard.exact``."""
        ...

    def band_candidates(self, bands: I64, keys: U64) -> tuple[I64, I64]:
        """As ``Shard.band_candidates``."""
        ...

    def agreement(self, signatures: U32, which: I64, rows: I64) -> I64:
        """As ``Shard.agreement``."""
        ...

    def excerpt_rows(self, hashes: U64, max_works: int) -> tuple[I64, I64]:
        """As ``Shard.excerpt_rows``."""
        ...

    def image_rows_near(
        self, groups: Sequence[Sequence[bytes]], limit: int
    ) -> list[tuple[I64, list[float]]]:
        """As ``Shard.image_rows_near``."""
        ...

    def keypoint_neighbours(self, queries: Sequence[npt.NDArray[np.uint8]]) -> list[Neighbours]:
        """As ``Shard.keypoint_neighbours``."""
        ...


@dataclass(frozen=True, slots=True)
class Shard(Arrays):
    """What one shard keeps. Rows are the whole index's (``ShardedIndex.roster``)."""

    # Per row kept here (``signature_rows``, ascending): its MinHash signature.
    signature_rows: I64
    signatures: U32
    # Exact digests routed here, ascending, and each one's row (rows ascending among
    # equal digests).
    digests_sorted: npt.NDArray[np.bytes_]
    digest_rows: I64
    # Band keys routed here: band ``b``'s at ``band_starts[b]:band_starts[b + 1]``,
    # ascending, each with its row.
    band_starts: I64
    band_keys: U64
    band_rows: I64
    # Excerpt postings routed here, as ``Segment``'s, by key and then row.
    posting_keys: U64
    posting_works: U32
    posting_offsets: U32
    posting_spread: U32
    posting_buckets: I64
    bloom_blocks: U32
    # PDQ hashes routed here (rows of four words) and their rows, ascending.
    image_hashes: U64
    image_rows: U32
    # The keypoints of the image rows kept here, one row per keypoint.
    keypoint_descriptors: npt.NDArray[np.uint8]
    keypoint_positions: npt.NDArray[np.float32]
    keypoint_rows: U32

    # -- answers: plain arrays in, plain arrays out -----------------------------------

    def exact(self, digests: npt.NDArray[np.uint8]) -> tuple[I64, I64]:
        """For query digests (q, 32) routed here: (query, row) pairs of equal ones."""
        stored = np.ascontiguousarray(self.digests_sorted).view(np.uint8).reshape(-1, 32)
        found: tuple[I64, I64] = _kernels.digest_rows(stored, self.digest_rows, digests)
        return found

    def band_candidates(self, bands: I64, keys: U64) -> tuple[I64, I64]:
        """For (band, key) queries routed here: (query, row) pairs of rows holding
        that key in that band."""
        lefts, rights = _kernels.group_ranges(self.band_starts, self.band_keys, bands, keys)
        which, positions = _ranges(lefts, rights)
        return which, self.band_rows[positions]

    def agreement(self, signatures: U32, which: I64, rows: I64) -> I64:
        """For (query, row) pairs of rows kept here: how many of the minima of query
        signature ``signatures[which[i]]`` equal row ``rows[i]``'s."""
        local = np.searchsorted(self.signature_rows, rows)
        equal: I64 = (self.signatures[local] == signatures[which]).sum(axis=1, dtype=np.int64)
        return equal

    def excerpt_rows(self, hashes: U64, max_works: int) -> tuple[I64, I64]:
        """For excerpt hashes routed here that at least one and at most ``max_works``
        works hold (more is boilerplate): (query, row) pairs, each row holding the
        hash once however many offsets it holds it at, ascending."""
        spread = np.zeros(len(hashes), dtype=np.int64)
        probed, lefts, rights = _kernels.probe_postings(
            self.bloom_blocks,
            self.posting_keys,
            self.posting_buckets,
            self.posting_spread,
            hashes,
            spread,
        )
        evidence = spread[probed] <= max_works
        which, positions = _ranges(lefts[evidence], rights[evidence])
        queries, rows = probed[evidence][which], self.posting_works[positions].astype(np.int64)
        first = np.ones(len(rows), dtype=bool)
        first[1:] = (queries[1:] != queries[:-1]) | (rows[1:] != rows[:-1])
        return queries[first], rows[first]

    def image_rows_near(
        self, groups: Sequence[Sequence[bytes]], limit: int
    ) -> list[tuple[I64, list[float]]]:
        """For each image's PDQ hashes (a group), the rows (ascending) of the hashes
        kept here within ``limit`` bits of one of them, and their scores."""
        found = []
        for hashes in groups:
            hits = image_hits(self.image_hashes, hashes, limit)
            rows = self.image_rows[[i for i, _ in hits]].astype(np.int64)
            found.append((rows, [score for _, score in hits]))
        return found

    @property
    def keypoint_count(self) -> int:
        """How many image keypoints this shard keeps."""
        return len(self.keypoint_descriptors)

    def keypoint_neighbours(self, queries: Sequence[npt.NDArray[np.uint8]]) -> list[Neighbours]:
        """For each query's descriptors, the nearest two keypoints kept here to each."""
        return [
            Neighbours.among(
                self.keypoint_descriptors, self.keypoint_positions, self.keypoint_rows, query
            )
            for query in queries
        ]

    # -- building ---------------------------------------------------------------------

    @classmethod
    def split(cls, segments: Sequence[Segment], shards: int) -> list[Shard]:
        """``segments``' fingerprints cut into ``shards`` shards; rows are numbered
        through the segments in order."""
        return _Whole.of(segments).split(shards)


# Each of ``_Whole``'s arrays when there are no segments.
_EMPTY: dict[str, npt.NDArray[Any]] = {
    "signatures": np.zeros((0, PERMUTATIONS), np.uint32),
    "digests": np.zeros(0, "S32"),
    "band_bands": np.zeros(0, np.int64),
    "band_keys": np.zeros(0, np.uint64),
    "band_rows": np.zeros(0, np.int64),
    "posting_keys": np.zeros(0, np.uint64),
    "posting_rows": np.zeros(0, np.int64),
    "posting_offsets": np.zeros(0, np.uint32),
    "posting_works": np.zeros(0, np.int64),
    "image_hashes": np.zeros((0, 4), np.uint64),
    "image_rows": np.zeros(0, np.int64),
    "keypoint_descriptors": np.zeros((0, 32), np.uint8),
    "keypoint_positions": np.zeros((0, 2), np.float32),
    "keypoint_rows": np.zeros(0, np.int64),
}


@dataclass(frozen=True, slots=True)
class _Whole:
    """Every segment's fingerprints with rows numbered through the segments."""

    signatures: U32
    digests: npt.NDArray[np.bytes_]
    band_bands: I64
    band_keys: U64
    band_rows: I64
    posting_keys: U64
    posting_rows: I64
    posting_offsets: U32
    # The work each posting belongs to, numbered through the segments (a code work's
    # two views are one), so a hash's spread over works is the sum of its segments'.
    posting_works: I64
    image_hashes: U64
    image_rows: I64
    keypoint_descriptors: npt.NDArray[np.uint8]
    keypoint_positions: npt.NDArray[np.float32]
    keypoint_rows: I64

    @classmethod
    def of(cls, segments: Sequence[Segment]) -> _Whole:
        parts: dict[str, list[npt.NDArray[Any]]] = {name: [] for name in _EMPTY}
        first = works_before = 0
        for segment in segments:
            # A row without a signature (an image, a tiny text) has placeholder keys.
            held = (np.count_nonzero(segment.signatures, axis=1) > 0)[segment.band_rows]
            work_of_row = np.cumsum(segment.views == 0) - 1 + works_before
            for name, part in (
                ("signatures", segment.signatures),
                ("digests", segment.digests),
                ("band_bands", np.repeat(np.arange(BANDS), segment.size)[held.reshape(-1)]),
                ("band_keys", segment.band_keys_sorted[held]),
                ("band_rows", segment.band_rows[held] + first),
                ("posting_keys", segment.posting_keys),
                ("posting_rows", segment.posting_works.astype(np.int64) + first),
                ("posting_offsets", segment.posting_offsets),
                ("posting_works", work_of_row[segment.posting_works.astype(np.int64)]),
                ("image_hashes", segment.image_hashes),
                ("image_rows", segment.image_works.astype(np.int64) + first),
                ("keypoint_descriptors", segment.keypoint_descriptors),
                ("keypoint_positions", segment.keypoint_positions),
                ("keypoint_rows", segment.keypoint_works.astype(np.int64) + first),
            ):
                parts[name].append(part)
            first += segment.size
            works_before += int((segment.views == 0).sum())
        return cls(
            **{
                name: np.concatenate(arrays) if arrays else _EMPTY[name]
                for name, arrays in parts.items()
            }
        )

    def split(self, shards: int) -> list[Shard]:
        """This cut into ``shards`` shards."""
        digests = np.ascontiguousarray(self.digests).view(np.uint8).reshape(-1, 32)
        routes = (
            shard_of(digest_words(digests), shards),
            shard_of(self.band_keys, shards),
            shard_of(self.posting_keys, shards),
            shard_of(self.image_hashes[:, 0], shards),
        )
        return [self._shard(number, shards, *routes) for number in range(shards)]

    def _shard(
        self, number: int, shards: int, digests: I64, bands: I64, postings: I64, images: I64
    ) -> Shard:
        """Shard ``number`` of ``shards``, given where each digest, band key, posting
        and image hash is routed."""
        kept = np.arange(number, len(self.signatures), shards)
        mine = np.flatnonzero(digests == number)
        by_digest = mine[np.argsort(self.digests[mine], kind="stable")]
        band = np.flatnonzero(bands == number)
        band = band[np.lexsort((self.band_rows[band], self.band_keys[band], self.band_bands[band]))]
        post = np.flatnonzero(postings == number)
        post = post[np.lexsort((self.posting_rows[post], self.posting_keys[post]))]
        spread, buckets, blocks = posting_lookup(self.posting_keys[post], self.posting_works[post])
        image = np.flatnonzero(images == number)
        points = np.flatnonzero(self.keypoint_rows % shards == number)
        return Shard(
            signature_rows=kept,
            signatures=self.signatures[kept],
            digests_sorted=self.digests[by_digest],
            digest_rows=by_digest.astype(np.int64),
            band_starts=np.searchsorted(self.band_bands[band], np.arange(BANDS + 1)).astype(
                np.int64
            ),
            band_keys=self.band_keys[band],
            band_rows=self.band_rows[band],
            posting_keys=self.posting_keys[post],
            posting_works=self.posting_rows[post].astype(np.uint32),
            posting_offsets=self.posting_offsets[post],
            posting_spread=spread,
            posting_buckets=buckets,
            bloom_blocks=blocks,
            image_hashes=self.image_hashes[image],
            image_rows=self.image_rows[image].astype(np.uint32),
            keypoint_descriptors=self.keypoint_descriptors[points],
            keypoint_positions=self.keypoint_positions[points],
            keypoint_rows=self.keypoint_rows[points].astype(np.uint32),
        )
