"""``MatchIndex``: which registered works does an item reproduce?

Segments are immutable; adding works adds a segment (so the index updates
incrementally and a crash never leaves half a segment in use), and ``compact`` merges
them. Saved as a folder of ``.npy`` arrays plus ``index.json``, memory-mapped on load.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from itertools import accumulate
from pathlib import Path

import numpy as np
import numpy.typing as npt

from consentry.errors import InputError
from consentry.fingerprint import (
    ContentFingerprint,
    ExcerptFingerprints,
    StreamPrints,
)
from consentry.fingerprint.content import EMPTY_DIGEST
from consentry.fingerprint.keypoints import Keypoints
from consentry.index import _kernels
from consentry.index.keypoints import KeypointParams, keypoint_hits
from consentry.index.records import IndexedWork, Match, MatchKind, strongest
from consentry.index.segment import PERMUTATIONS, ROWS, Segment, image_hits

# The exact digest of content that normalises to nothing.
EMPTY = bytes.fromhex(EMPTY_DIGEST)

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

    def match(
        self, row: int, kind: MatchKind, score: float, spans: tuple[tuple[int, int], ...] = ()
    ) -> Match:
        """The match naming row ``row``'s work and owner."""
        return Match(self.works[row], self.owners[row], kind, score, spans)


@dataclass
class MatchIndex:
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
        hasher = hashlib.sha256(json.dumps(self._params_json(), sort_keys=True).encode())
        for segment in self.segments:
            hasher.update(segment.digest().encode())
        return hasher.hexdigest()

    def _params_json(self) -> dict[str, object]:
        p = self.params
        return {
            "near_threshold": p.near_threshold,
            "min_excerpt_hits": p.min_excerpt_hits,
            "max_works_per_fingerprint": p.max_works_per_fingerprint,
            "pdq_max_distance": p.pdq_max_distance,
            "noise": p.noise,
            "keypoints": asdict(p.keypoints),
        }

    def save(self, folder: Path) -> str:
        """Write the index to ``folder`` crash-safely; returns its digest.

        Segments go to new subfolders first; ``index.json`` naming them is replaced
        atomically last, so a reader sees the old index or the new one, never a mix.
        """
        folder.mkdir(parents=True, exist_ok=True)
        names = []
        for segment in self.segments:
            name = f"segment-{segment.digest()[:16]}"
            if not (folder / name / "work_ids.npy").exists():
                staging = folder / f".{name}.tmp"
                shutil.rmtree(staging, ignore_errors=True)
                segment.save(staging)
                os.replace(staging, folder / name)
            names.append(name)
        digest = self.digest()
        manifest = {
            "format": _FORMAT,
            "segments": names,
            "params": self._params_json(),
            "digest": digest,
        }
        temporary = folder / "index.json.tmp"
        temporary.write_text(json.dumps(manifest, indent=2))
        os.replace(temporary, folder / "index.json")
        for stale in folder.glob("segment-*"):
            if stale.name not in names:
                shutil.rmtree(stale, ignore_errors=True)
        return digest

    @classmethod
    def load(cls, folder: Path, *, mmap: bool = True) -> MatchIndex:
        """Load a saved index; arrays are memory-mapped unless ``mmap`` is False.

        Raises ``InputError`` when the folder holds no index or one that fails its digest.
        """
        try:
            manifest = json.loads((folder / "index.json").read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise InputError(f"{folder} holds no readable match index; build it again") from exc
        if manifest.get("format") != _FORMAT:
            raise InputError(f"{folder} is index format {manifest.get('format')}; rebuild it")
        try:
            index = cls(
                segments=[Segment.load(folder / name, mmap=mmap) for name in manifest["segments"]],
                params=_params_of(manifest["params"]),
            )
        except (OSError, ValueError, TypeError, KeyError) as exc:
            raise InputError(f"match index in {folder} is incomplete ({exc}); rebuild it") from exc
        if index.digest() != manifest["digest"]:
            raise InputError(
                f"match index in {folder} does not match its recorded digest; rebuild it"
            )
        return index

    # -- lookups ----------------------------------------------------------------------

    def match(
        self,
        item: ContentFingerprint,
        *,
        pdq_variants: Sequence[bytes] = (),
        keypoints: Sequence[bytes] = (),
    ) -> list[Match]:
        """Every registered work ``item`` reproduces, strongest evidence per work.

        ``pdq_variants`` are the PDQ hashes of the item's flips and rotations, so a
        mirrored copy of an image still matches; ``keypoints`` its ORB keypoints and its
        mirror image's (``ImageQuery.keypoints``), so a cropped copy does.
        """
        prints = StreamPrints.from_stored(item.digest, item.minhash, item.excerpts)
        images = self._images([h for h in (item.pdq, *pdq_variants) if h], keypoints)
        return strongest([*self._streams([prints])[0], *images])

    def match_image(
        self, digest: str, hashes: Sequence[bytes], *, keypoints: Sequence[bytes] = ()
    ) -> list[Match]:
        """Registered images with pixel digest ``digest`` (hex), a PDQ hash within the
        distance of one of ``hashes`` (an image's orientations), or keypoints that one
        of ``keypoints`` (the image's and its mirror image's) maps onto in one
        consistent geometry."""
        exact = self._exact([bytes.fromhex(digest)])[0] if digest else []
        return strongest([*exact, *self._images([h for h in hashes if h], keypoints)])

    def match_prints(self, prints: Sequence[StreamPrints]) -> list[Match]:
        """Every registered work the streams reproduce (``text_prints`` gives them),
        strongest evidence per work, the first stream's findings first."""
        return self.match_many([prints])[0]

    def match_many(self, items: Sequence[Sequence[StreamPrints]]) -> list[list[Match]]:
        """``match_prints`` for each of ``items``, looked up together: each kind of
        lookup is one kernel call per segment for every stream of every item, where one
        item at a time pays a call (and its Python around it) per stream."""
        found = self._streams([stream for prints in items for stream in prints])
        out = []
        k = 0
        for prints in items:
            mine: list[Match] = []
            for _ in prints:
                mine += found[k]
                k += 1
            out.append(strongest(mine))
        return out

    def _streams(self, streams: Sequence[StreamPrints]) -> list[list[Match]]:
        """Per stream: its exact, then near, then excerpt matches."""
        exact = self._exact([stream.digest for stream in streams])
        near = self._near([stream.signature for stream in streams])
        excerpts = self._excerpts([stream.excerpts for stream in streams])
        return [e + n + x for e, n, x in zip(exact, near, excerpts, strict=True)]

    def _lookup(self, segment: Segment) -> _Lookup:
        """What lookups in ``segment`` need in ready form, made once per segment."""
        cached = self._lookups.get(id(segment))
        if cached is None or cached.segment is not segment:
            cached = _Lookup.of(segment)
            self._lookups[id(segment)] = cached
        return cached

    def _exact(self, digests: Sequence[bytes]) -> list[list[Match]]:
        out: list[list[Match]] = [[] for _ in digests]
        # Content that normalises to nothing matches nothing, whatever a segment saved
        # before empty works were refused still holds: nothing is a copy of nothing.
        valid = [k for k, digest in enumerate(digests) if len(digest) == 32 and digest != EMPTY]
        if not valid:
            return out
        keys = np.frombuffer(b"".join(digests[k] for k in valid), dtype=np.uint8).reshape(-1, 32)
        for segment in self.segments:
            lookup = self._lookup(segment)
            queries, rows = _kernels.digest_rows(lookup.digests, segment.digest_order, keys)
            for q, row in zip(queries.tolist(), rows.tolist(), strict=True):
                out[valid[q]].append(lookup.match(row, MatchKind.EXACT, 1.0))
        return out

    def _near(self, signatures: Sequence[npt.NDArray[np.uint32]]) -> list[list[Match]]:
        out: list[list[Match]] = [[] for _ in signatures]
        valid = [k for k, signature in enumerate(signatures) if len(signature) == PERMUTATIONS]
        if not valid:
            return out
        queries = (
            signatures[valid[0]].reshape(1, -1)
            if len(valid) == 1
            else np.stack([signatures[k] for k in valid])
        )
        found_per_segment = []
        per_query = np.zeros(len(valid), dtype=np.int64)
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
            per_query += np.bincount(found, minlength=len(valid))
            found_per_segment.append((lookup, found, rows, scores))
        # Structurally identical works (codecs that differ only in their literal tables,
        # generated pages) make a near match ambiguous: like boilerplate, it is not
        # evidence of copying any one of them. Exact digests still catch exact copies.
        ambiguous = (per_query > self.params.max_works_per_fingerprint).tolist()
        for lookup, found, rows, scores in found_per_segment:
            for q, row, score in zip(found.tolist(), rows.tolist(), scores.tolist(), strict=True):
                if not ambiguous[q]:
                    out[valid[q]].append(lookup.match(row, MatchKind.NEAR, round(score, 4)))
        for matches in out:
            matches.sort(key=lambda m: -m.score)
        return out

    def _excerpts(self, queries: Sequence[ExcerptFingerprints]) -> list[list[Match]]:
        out: list[list[Match]] = [[] for _ in queries]
        sizes = [len(query) for query in queries]
        if not any(sizes):
            return out
        # Every stream's hashes in one array; ``bounds`` says whose each is.
        bounds = [0, *accumulate(sizes)]
        if len(queries) == 1:
            hashes, offsets = queries[0].hashes, queries[0].offsets
        else:
            hashes = np.concatenate([query.hashes for query in queries])
            offsets = np.concatenate([query.offsets for query in queries])
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
        for lookup, maybe, left, right in probes:
            row_cuts, rows, counts, first, starts, ends = _kernels.excerpt_evidence_many(
                maybe,
                left,
                right,
                spread,
                self.params.max_works_per_fingerprint,
                lookup.segment.posting_works,
                offsets,
                self.params.noise,
                np.searchsorted(maybe, bounds),
            )
            spans = list(zip(starts.tolist(), ends.tolist(), strict=True))
            where, hits, row_of = first.tolist(), counts.tolist(), rows.tolist()
            cut = row_cuts.tolist()
            # Bound once: this builds every excerpt match of a chunk.
            works, owners = lookup.works, lookup.owners
            kind, least = MatchKind.EXCERPT, self.params.min_excerpt_hits
            for k, total in enumerate(sizes):
                if cut[k] < cut[k + 1]:
                    out[k] += [
                        Match(
                            works[row_of[r]],
                            owners[row_of[r]],
                            kind,
                            round(hits[r] / total, 4),
                            tuple(spans[where[r] : where[r + 1]]),
                        )
                        for r in range(cut[k], cut[k + 1])
                        if hits[r] >= least
                    ]
        for matches in out:
            if len(matches) > 1:
                matches.sort(key=lambda m: -m.score)
        return out

    def _images(self, hashes: Sequence[bytes], keypoints: Sequence[bytes] = ()) -> list[Match]:
        """PDQ matches, then keypoint matches, each strongest first."""
        queries = [Keypoints.from_bytes(k) for k in keypoints]
        by_hash, by_keypoints = [], []
        for segment in self.segments:
            lookup = self._lookup(segment)
            for i, score in image_hits(segment.image_hashes, hashes, self.params.pdq_max_distance):
                by_hash.append(lookup.match(int(segment.image_works[i]), MatchKind.IMAGE, score))
            for row, score in keypoint_hits(
                segment.keypoint_descriptors,
                segment.keypoint_positions,
                segment.keypoint_works,
                queries,
                self.params.keypoints,
            ):
                by_keypoints.append(lookup.match(row, MatchKind.IMAGE, score))
        by_hash.sort(key=lambda m: -m.score)
        by_keypoints.sort(key=lambda m: -m.score)
        return by_hash + by_keypoints


def _params_of(stored: dict[str, object]) -> MatchParams:
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
