"""``MatchIndex``: which registered works does an item reproduce?

Segments are immutable; adding works adds a segment (so the index updates
incrementally and a crash never leaves half a segment in use), and ``compact`` merges
them. Saved as a folder of ``.npy`` arrays plus ``index.json``, memory-mapped on load.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from consentry.errors import InputError
from consentry.fingerprint import ExcerptFingerprints
from consentry.fingerprint.keypoints import Keypoints
from consentry.index import _kernels
from consentry.index._combine import (
    Matcher,
    digest_queries,
    exact_matches,
    excerpt_matches,
    excerpt_queries,
    image_matches,
    near_matches,
    signature_queries,
)
from consentry.index._storage import read_manifest, write_index
from consentry.index.keypoints import KeypointParams, keypoint_hits
from consentry.index.records import IndexedWork, Match
from consentry.index.segment import ROWS, Segment, image_hits

__all__ = ["MatchIndex", "MatchParams"]

# Bumped whenever the segment layout changes; older indexes are rebuilt, not misread.
_FORMAT = 7


@dataclass(frozen=True, slots=True)
class MatchParams:
    """Thresholds for calling something a match.

    ``noise`` must equal the winnow noise threshold the fingerprints were made with: a
    hit at offset o covers characters ``[o, o + noise)`` of the item.
    """

    near_threshold: float = 0.8
    min_excerpt_hits: int = 1
    # A fingerprint found in more works than this is boilerplate (licence headers,
    # common code idioms): it is not evidence of copying any one of them.
    max_works_per_fingerprint: int = 8
    pdq_max_distance: int = 31
    noise: int = 100
    keypoints: KeypointParams = field(default_factory=KeypointParams)


@dataclass(frozen=True, slots=True)
class _Lookup:
    """A segment's ids as Python strings, its sorted digests as bytes (n, 32), and
    where each band's keys fall in buckets (small, so made on loading, not stored)."""

    segment: Segment
    works: list[str]
    owners: list[str]
    digests: npt.NDArray[np.uint8]
    band_buckets: npt.NDArray[np.int64]

    @classmethod
    def of(cls, segment: Segment) -> _Lookup:
        return cls(
            segment,
            segment.work_ids.tolist(),
            segment.owner_ids.tolist(),
            np.ascontiguousarray(segment.digests_sorted).view(np.uint8).reshape(-1, 32),
            _kernels.band_buckets(
                segment.band_keys_sorted,
                _kernels.bucket_bits(segment.band_keys_sorted.shape[1]),
            ),
        )


@dataclass
class MatchIndex(Matcher):
    segments: list[Segment] = field(default_factory=list)
    params: MatchParams = field(default_factory=MatchParams)
    # Per segment (by identity; the segment is kept so its id cannot be reused).
    _lookups: dict[int, _Lookup] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    # -- building ---------------------------------------------------------------------

    @classmethod
    def build(
        cls, works: Iterable[IndexedWork], *, params: MatchParams | None = None
    ) -> MatchIndex:
        index = cls(params=params or MatchParams())
        index.add(works)
        return index

    def add(self, works: Iterable[IndexedWork]) -> int:
        """Add works as a new segment; returns how many were added."""
        batch = list(works)
        if batch:
            self.segments.append(Segment.build(batch))
        return len(batch)

    def compact(self) -> None:
        """Merge all segments into one (same answers, faster lookups)."""
        if len(self.segments) > 1:
            self.segments = [Segment.build(list(self._works()))]

    def _works(self) -> Iterable[IndexedWork]:
        for segment in self.segments:
            per_row: dict[int, list[int]] = {}
            for position, row in enumerate(segment.posting_works.tolist()):
                per_row.setdefault(row, []).append(position)
            images = {int(r): i for i, r in enumerate(segment.image_works.tolist())}
            keypoints = _keypoints_per_row(segment)
            hashes = segment.posting_hashes

            def view(
                row: int,
                seg: Segment = segment,
                rows: dict[int, list[int]] = per_row,
                hashes: npt.NDArray[np.uint64] = hashes,
            ) -> tuple[str, bytes, bytes]:
                positions = np.array(rows.get(row, []), dtype=np.int64)
                prints = ExcerptFingerprints(hashes[positions], seg.posting_offsets[positions])
                signature = seg.signatures[row]
                return (
                    bytes(seg.digests[row]).hex(),
                    signature.astype("<u4").tobytes() if signature.any() else b"",
                    prints.to_bytes() if len(prints) else b"",
                )

            views = segment.views.tolist()
            for row in range(len(views)):
                if views[row] != 0:
                    continue
                digest, minhash, excerpts = view(row)
                text = view(row + 1) if row + 1 < len(views) and views[row + 1] == 1 else None
                yield IndexedWork(
                    work_id=str(segment.work_ids[row]),
                    owner_id=str(segment.owner_ids[row]),
                    kind=str(segment.kinds[row]),
                    digest=digest,
                    minhash=minhash,
                    excerpts=excerpts,
                    pdq=segment.image_hashes[images[row]].astype("<u8").tobytes()
                    if row in images
                    else None,
                    keypoints=keypoints.get(row, b""),
                    text_digest=text[0] if text else None,
                    text_minhash=text[1] if text else b"",
                    text_excerpts=text[2] if text else b"",
                )

    @property
    def size(self) -> int:
        """Registered works held (a code work's text view is not counted twice)."""
        return sum(int((segment.views == 0).sum()) for segment in self.segments)

    def work_ids(self) -> set[str]:
        return {str(w) for segment in self.segments for w in segment.work_ids.tolist()}

    # -- persistence ------------------------------------------------------------------

    def digest(self) -> str:
        """SHA-256 naming this index's content and parameters (recorded in manifests)."""
        hasher = hashlib.sha256(json.dumps(params_json(self.params), sort_keys=True).encode())
        for segment in self.segments:
            hasher.update(segment.digest().encode())
        return hasher.hexdigest()

    def save(self, folder: Path) -> str:
        """Write the index to ``folder`` crash-safely; returns its digest.

        Segments go to new subfolders first; ``index.json`` naming them is replaced
        atomically last, so a reader sees the old index or the new one, never a mix.
        """
        parts = [(f"segment-{segment.digest()[:16]}", segment) for segment in self.segments]
        digest = self.digest()
        manifest = {
            "format": _FORMAT,
            "segments": [name for name, _ in parts],
            "params": params_json(self.params),
            "digest": digest,
        }
        write_index(folder, parts, manifest, kinds=["segment"])
        return digest

    @classmethod
    def load(cls, folder: Path, *, mmap: bool = True) -> MatchIndex:
        """Load a saved index; arrays are memory-mapped unless ``mmap`` is False.

        Raises ``InputError`` when the folder holds no index or one that fails its digest.
        """
        manifest = read_manifest(folder, _FORMAT, "match index")
        try:
            index = cls(
                segments=[Segment.load(folder / name, mmap=mmap) for name in manifest["segments"]],
                params=params_of(manifest["params"]),
            )
        except (OSError, ValueError, TypeError, KeyError) as exc:
            raise InputError(f"match index in {folder} is incomplete ({exc}); rebuild it") from exc
        if index.digest() != manifest["digest"]:
            raise InputError(
                f"match index in {folder} does not match its recorded digest; rebuild it"
            )
        return index

    # -- lookups ----------------------------------------------------------------------

    def _lookup(self, segment: Segment) -> _Lookup:
        """What lookups in ``segment`` need in ready form, made once per segment."""
        cached = self._lookups.get(id(segment))
        if cached is None or cached.segment is not segment:
            cached = _Lookup.of(segment)
            self._lookups[id(segment)] = cached
        return cached

    def _exact(self, digests: Sequence[bytes]) -> list[list[Match]]:
        valid, keys = digest_queries(digests)
        parts = []
        if valid:
            for segment in self.segments:
                lookup = self._lookup(segment)
                queries, rows = _kernels.digest_rows(lookup.digests, segment.digest_order, keys)
                parts.append((lookup, queries, rows))
        return exact_matches(len(digests), valid, parts)

    def _near(self, signatures: Sequence[npt.NDArray[np.uint32]]) -> list[list[Match]]:
        valid, queries = signature_queries(signatures)
        parts = []
        if valid:
            for segment in self.segments:
                lookup = self._lookup(segment)
                found, rows, scores = _kernels.near_matches(
                    segment.band_keys_sorted,
                    segment.band_rows,
                    lookup.band_buckets,
                    segment.signatures,
                    queries,
                    ROWS,
                    self.params.near_threshold,
                )
                parts.append((lookup, found, rows, scores))
        return near_matches(len(signatures), valid, parts, self.params.max_works_per_fingerprint)

    def _excerpts(self, queries: Sequence[ExcerptFingerprints]) -> list[list[Match]]:
        sizes = [len(query) for query in queries]
        if not any(sizes):
            return [[] for _ in queries]
        bounds, hashes, offsets = excerpt_queries(queries)
        # Pass 1: where each query hash sits in each segment, and in how many works in
        # all (each work lives in exactly one segment, so per-segment counts add up).
        spread = np.zeros(len(hashes), dtype=np.int64)
        probes = []
        for segment in self.segments:
            lookup = self._lookup(segment)
            maybe, left, right = _kernels.probe_postings(
                segment.bloom_blocks,
                segment.posting_keys,
                segment.posting_buckets,
                segment.posting_spread,
                hashes,
                spread,
            )
            if len(maybe):
                probes.append((lookup, maybe, left, right))
        # Pass 2: per stream, expand only hashes that are evidence, grouped by the row
        # holding them.
        parts = [
            (
                lookup,
                _kernels.excerpt_evidence_many(
                    maybe,
                    left,
                    right,
                    spread,
                    self.params.max_works_per_fingerprint,
                    lookup.segment.posting_works,
                    offsets,
                    self.params.noise,
                    np.searchsorted(maybe, bounds),
                ),
            )
            for lookup, maybe, left, right in probes
        ]
        return excerpt_matches(sizes, parts, self.params.min_excerpt_hits)

    def _images(self, hashes: Sequence[bytes], keypoints: Sequence[bytes] = ()) -> list[Match]:
        queries = [Keypoints.from_bytes(k) for k in keypoints]
        by_hash, by_keypoints = [], []
        for segment in self.segments:
            lookup = self._lookup(segment)
            hits = image_hits(segment.image_hashes, hashes, self.params.pdq_max_distance)
            by_hash.append((lookup, [(int(segment.image_works[i]), s) for i, s in hits]))
            found = keypoint_hits(
                segment.keypoint_descriptors,
                segment.keypoint_positions,
                segment.keypoint_works,
                queries,
                self.params.keypoints,
            )
            by_keypoints.append((lookup, found))
        return image_matches(by_hash, by_keypoints)


def params_json(params: MatchParams) -> dict[str, object]:
    """``params`` as an index manifest records them."""
    return {
        "near_threshold": params.near_threshold,
        "min_excerpt_hits": params.min_excerpt_hits,
        "max_works_per_fingerprint": params.max_works_per_fingerprint,
        "pdq_max_distance": params.pdq_max_distance,
        "noise": params.noise,
        "keypoints": asdict(params.keypoints),
    }


def params_of(stored: dict[str, object]) -> MatchParams:
    """``MatchParams`` from an index manifest's ``params``."""
    fields = dict(stored)
    keypoints = fields.pop("keypoints", {})
    return MatchParams(**fields, keypoints=KeypointParams(**keypoints))  # type: ignore[arg-type]


def _keypoints_per_row(segment: Segment) -> dict[int, bytes]:
    """Each image row's keypoints as ``IndexedWork`` carries them (for compaction)."""
    works = segment.keypoint_works
    out: dict[int, bytes] = {}
    for row in np.unique(works).tolist():
        mine = works == row
        points = Keypoints(segment.keypoint_positions[mine], segment.keypoint_descriptors[mine])
        out[int(row)] = points.to_bytes()
    return out
