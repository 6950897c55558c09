"""An immutable block of the index: numpy arrays built once from a batch of works."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from consentry.fingerprint import ExcerptFingerprints, MinHashSignature
from consentry.fingerprint.keypoints import Keypoints
from consentry.index import _kernels
from consentry.index._storage import Arrays
from consentry.index.bloom import BloomFilter
from consentry.index.records import IndexedWork

__all__ = [
    "BANDS",
    "PERMUTATIONS",
    "ROWS",
    "Segment",
    "band_keys",
    "image_hits",
    "keypoint_arrays",
    "posting_lookup",
]

PERMUTATIONS = 256
# 32 bands of 8 rows: a pair at Jaccard 0.8 shares a band with probability
# 1 - (1 - 0.8**8)**32 = 99.7% (datatrove's 14 x 8 gives 92%); at 0.5, 12%.
BANDS = 32
ROWS = 8

U64 = npt.NDArray[np.uint64]
U32 = npt.NDArray[np.uint32]
I64 = npt.NDArray[np.int64]


def band_keys(signatures: U32) -> U64:
    """One 64-bit key per band per signature: shape (n, BANDS)."""
    keys: U64 = _kernels.band_keys(np.ascontiguousarray(signatures), BANDS, ROWS)
    return keys


def image_hits(stored: U64, hashes: Sequence[bytes], limit: int) -> list[tuple[int, float]]:
    """(position in ``stored``, score ``1 - distance/256``) of each stored PDQ hash
    (rows of four 64-bit words) within ``limit`` bits of one of ``hashes``."""
    if not hashes or not len(stored):
        return []
    queries = np.frombuffer(b"".join(hashes), dtype="<u8").astype(np.uint64).reshape(-1, 4)
    distance = np.bitwise_count(stored[:, None, :] ^ queries[None, :, :]).sum(axis=2).min(axis=1)
    close = np.flatnonzero(distance <= limit).tolist()
    return [(i, round(1 - int(distance[i]) / 256, 4)) for i in close]


def keypoint_arrays(
    rows: Sequence[tuple[int, Keypoints]],
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.float32], U32]:
    """Descriptors (n, 32), positions (n, 2) and the row of each keypoint of ``rows``."""
    kept = [(row, points) for row, points in rows if len(points)]
    if not kept:
        return np.zeros((0, 32), np.uint8), np.zeros((0, 2), np.float32), np.zeros(0, np.uint32)
    return (
        np.concatenate([points.descriptors for _, points in kept]),
        np.concatenate([points.positions for _, points in kept]).astype(np.float32),
        np.concatenate([np.full(len(points), row, np.uint32) for row, points in kept]),
    )


def _spread(hashes: U64, works: npt.NDArray[np.int64]) -> U32:
    """For postings sorted by hash (or key): the number of distinct works holding each
    hash, repeated over that hash's postings."""
    if len(hashes) == 0:
        return np.zeros(0, dtype=np.uint32)
    order = np.lexsort((works, hashes))
    h, w = hashes[order], works[order]
    new_hash = np.ones(len(h), dtype=bool)
    new_hash[1:] = h[1:] != h[:-1]
    new_pair = new_hash.copy()
    new_pair[1:] |= w[1:] != w[:-1]
    starts = np.flatnonzero(new_hash)
    counts = np.add.reduceat(new_pair.astype(np.uint32), starts)
    sizes = np.diff(np.append(starts, len(h)))
    spread_sorted = np.repeat(counts, sizes).astype(np.uint32)
    # lexsort kept equal hashes together in the original hash order's groups; map back.
    spread = np.empty(len(h), dtype=np.uint32)
    spread[order] = spread_sorted
    return spread


def posting_lookup(keys: U64, works: npt.NDArray[np.int64]) -> tuple[U32, I64, U32]:
    """What finding postings needs, for posting keys sorted ascending and the work
    (a number; a code work's two views are one) each belongs to: per posting, how many
    distinct works hold its key; where each bucket of keys starts; the blocks of a
    Bloom filter over the keys."""
    buckets = _kernels.posting_buckets(keys, _kernels.bucket_bits(len(keys)))
    return _spread(keys, works), buckets, BloomFilter.build(np.unique(keys)).blocks


@dataclass(frozen=True, slots=True)
class Segment(Arrays):
    """Arrays for one batch of works. Row ``i`` of the per-work arrays is work ``i`` of
    this segment; postings refer to those rows."""

    work_ids: npt.NDArray[np.str_]
    views: npt.NDArray[np.uint8]
    owner_ids: npt.NDArray[np.str_]
    kinds: npt.NDArray[np.str_]
    digests: npt.NDArray[np.bytes_]
    # Digests in ascending order, and the row each came from: exact lookups are one
    # binary search.
    digests_sorted: npt.NDArray[np.bytes_]
    digest_order: npt.NDArray[np.int64]
    signatures: U32
    band_keys_sorted: U64
    band_rows: npt.NDArray[np.int64]
    # Each posting's key (``_kernels.posting_keys`` of its excerpt hash), ascending;
    # the other posting arrays in the same order.
    posting_keys: U64
    posting_works: U32
    posting_offsets: U32
    # For each posting, how many distinct works of this segment hold its hash: the
    # boilerplate test runs on this before any posting list is expanded.
    posting_spread: U32
    # Where each bucket of keys (by their leading bits) starts in ``posting_keys``.
    posting_buckets: npt.NDArray[np.int64]
    # A split-block Bloom filter over the posting keys: shape (blocks, 8).
    bloom_blocks: U32
    image_hashes: U64
    image_works: U32
    # Every image's ORB keypoints, one row per keypoint: its descriptor (32 bytes), its
    # position, and the row of the work it belongs to.
    keypoint_descriptors: npt.NDArray[np.uint8]
    keypoint_positions: npt.NDArray[np.float32]
    keypoint_works: U32

    @property
    def size(self) -> int:
        return len(self.work_ids)

    @property
    def bloom(self) -> BloomFilter:
        return BloomFilter(self.bloom_blocks)

    @property
    def posting_hashes(self) -> U64:
        """Each posting's excerpt hash, in the order of ``posting_keys``."""
        hashes: U64 = _kernels.posting_hashes(self.posting_keys)
        return hashes

    @classmethod
    def build(cls, indexed: Sequence[IndexedWork]) -> Segment:
        # A code work's text view is a second row with the same work id (view 1).
        works: list[IndexedWork] = []
        views: list[int] = []
        owners_of_rows: list[int] = []
        for number, work in enumerate(indexed):
            works.append(work)
            views.append(0)
            owners_of_rows.append(number)
            if work.text_digest is not None:
                works.append(
                    IndexedWork(
                        work.work_id,
                        work.owner_id,
                        work.kind,
                        work.text_digest,
                        work.text_minhash,
                        work.text_excerpts,
                    )
                )
                views.append(1)
                owners_of_rows.append(number)
        n = len(works)
        digests = np.array([bytes.fromhex(w.digest) for w in works], dtype="S32")
        digest_order = np.argsort(digests, kind="stable")
        signatures = np.zeros((n, PERMUTATIONS), dtype=np.uint32)
        has_signature = np.zeros(n, dtype=bool)
        for i, work in enumerate(works):
            if len(work.minhash) == PERMUTATIONS * 4:
                signatures[i] = MinHashSignature.from_bytes(work.minhash).values
                has_signature[i] = True
        keys = band_keys(signatures)
        # Works without a signature (images, tiny texts) get key 0, which no query uses.
        keys[~has_signature] = 0
        # Per band, keys sorted with the rows they came from: shape (BANDS, n).
        order = np.argsort(keys, axis=0, kind="stable")
        band_keys_sorted = np.take_along_axis(keys, order, axis=0).T.copy()
        band_rows = order.T.copy()
        hashes, owners, offsets = [], [], []
        for i, work in enumerate(works):
            if work.excerpts:
                prints = ExcerptFingerprints.from_bytes(work.excerpts)
                hashes.append(prints.hashes)
                offsets.append(prints.offsets)
                owners.append(np.full(len(prints), i, dtype=np.uint32))
        all_keys = _kernels.posting_keys(
            np.concatenate(hashes) if hashes else np.zeros(0, np.uint64)
        )
        order_p = np.argsort(all_keys, kind="stable")
        posting_keys = all_keys[order_p]
        posting_works = (np.concatenate(owners) if owners else np.zeros(0, np.uint32))[order_p]
        posting_offsets = (np.concatenate(offsets) if offsets else np.zeros(0, np.uint32))[order_p]
        posting_spread, posting_buckets, bloom_blocks = posting_lookup(
            posting_keys,
            np.array(owners_of_rows, dtype=np.int64)[posting_works.astype(np.int64)]
            if len(posting_works)
            else np.zeros(0, np.int64),
        )
        image_rows = [i for i, w in enumerate(works) if w.pdq]
        image_hashes = (
            np.frombuffer(b"".join(works[i].pdq or b"" for i in image_rows), dtype="<u8")
            .astype(np.uint64)
            .reshape(len(image_rows), 4)
            if image_rows
            else np.zeros((0, 4), dtype=np.uint64)
        )
        descriptors, positions, keypoint_works = keypoint_arrays(
            [(i, Keypoints.from_bytes(w.keypoints)) for i, w in enumerate(works) if w.keypoints]
        )
        return cls(
            work_ids=np.array([w.work_id for w in works], dtype=np.str_),
            views=np.array(views, dtype=np.uint8),
            owner_ids=np.array([w.owner_id for w in works], dtype=np.str_),
            kinds=np.array([w.kind for w in works], dtype=np.str_),
            digests=digests,
            digests_sorted=digests[digest_order],
            digest_order=digest_order,
            signatures=signatures,
            band_keys_sorted=band_keys_sorted,
            band_rows=band_rows,
            posting_keys=posting_keys,
            posting_works=posting_works.astype(np.uint32),
            posting_offsets=posting_offsets.astype(np.uint32),
            posting_spread=posting_spread,
            posting_buckets=posting_buckets,
            bloom_blocks=bloom_blocks,
            image_hashes=image_hashes,
            image_works=np.array(image_rows, dtype=np.uint32),
            keypoint_descriptors=descriptors,
            keypoint_positions=positions,
            keypoint_works=keypoint_works,
        )
