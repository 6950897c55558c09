"""From lookup results to matches, for ``MatchIndex`` and ``ShardedIndex`` alike.

Both indexes find evidence as arrays of rows (per segment, or merged from shards);
what follows is one code path: naming the works, the rules that need every part's
results at once (a near match found for too many works is ambiguous, an excerpt needs
enough hits), and the order matches come in. So the two answer alike by construction,
and the property test that compares them checks the finding, not two copies of this.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from itertools import accumulate
from typing import Protocol

import numpy as np
import numpy.typing as npt

from consentry.fingerprint import ContentFingerprint, ExcerptFingerprints, StreamPrints
from consentry.fingerprint.content import EMPTY_DIGEST
from consentry.index.records import Match, MatchKind, strongest
from consentry.index.segment import PERMUTATIONS

__all__ = [
    "Evidence",
    "Matcher",
    "Names",
    "digest_queries",
    "exact_matches",
    "excerpt_matches",
    "excerpt_queries",
    "image_matches",
    "near_matches",
    "signature_queries",
]

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
# ``_kernels.excerpt_evidence_many``'s result: row_cuts, rows, counts, first, starts, ends.
Evidence = tuple[I64, I64, I64, I64, I64, I64]

# The exact digest of content that normalises to nothing.
EMPTY = bytes.fromhex(EMPTY_DIGEST)


class Names(Protocol):
    """Each row's work id and owner id, as Python strings."""

    @property
    def works(self) -> list[str]: ...

    @property
    def owners(self) -> list[str]: ...


def digest_queries(digests: Sequence[bytes]) -> tuple[list[int], npt.NDArray[np.uint8]]:
    """The streams whose digest can match (their positions) and those digests, (q, 32).

    Content that normalises to nothing matches nothing, whatever an index saved before
    empty works were refused still holds: nothing is a copy of nothing.
    """
    valid = [k for k, digest in enumerate(digests) if len(digest) == 32 and digest != EMPTY]
    keys = np.frombuffer(b"".join(digests[k] for k in valid), dtype=np.uint8).reshape(-1, 32)
    return valid, keys


def signature_queries(
    signatures: Sequence[npt.NDArray[np.uint32]],
) -> tuple[list[int], npt.NDArray[np.uint32]]:
    """The streams with a MinHash signature (their positions) and those, (q, 256)."""
    valid = [k for k, signature in enumerate(signatures) if len(signature) == PERMUTATIONS]
    if not valid:
        return valid, np.zeros((0, PERMUTATIONS), dtype=np.uint32)
    if len(valid) == 1:
        return valid, signatures[valid[0]].reshape(1, -1)
    return valid, np.stack([signatures[k] for k in valid])


def excerpt_queries(
    queries: Sequence[ExcerptFingerprints],
) -> tuple[list[int], npt.NDArray[np.uint64], npt.NDArray[np.uint32]]:
    """Every stream's excerpt hashes in one array, their offsets, and ``bounds``:
    stream ``k`` owns positions ``bounds[k]:bounds[k + 1]``."""
    bounds = [0, *accumulate(len(query) for query in queries)]
    if len(queries) == 1:
        return bounds, queries[0].hashes, queries[0].offsets
    if not queries:
        return bounds, np.zeros(0, np.uint64), np.zeros(0, np.uint32)
    hashes = np.concatenate([query.hashes for query in queries])
    return bounds, hashes, np.concatenate([query.offsets for query in queries])


def exact_matches(
    streams: int, valid: Sequence[int], parts: Iterable[tuple[Names, I64, I64]]
) -> list[list[Match]]:
    """Per stream, an exact match for each (query, row) pair of each part in turn;
    query ``q`` is stream ``valid[q]``."""
    out: list[list[Match]] = [[] for _ in range(streams)]
    for names, queries, rows in parts:
        works, owners = names.works, names.owners
        for q, row in zip(queries.tolist(), rows.tolist(), strict=True):
            out[valid[q]].append(Match(works[row], owners[row], MatchKind.EXACT, 1.0))
    return out


def near_matches(
    streams: int,
    valid: Sequence[int],
    parts: Sequence[tuple[Names, I64, I64, F64]],
    max_works: int,
) -> list[list[Match]]:
    """Per stream, its near matches strongest first, from (query, row, similarity)
    triples above the threshold (rows ascending per query within a part)."""
    out: list[list[Match]] = [[] for _ in range(streams)]
    per_query = np.zeros(len(valid), dtype=np.int64)
    for _, found, _, _ in parts:
        per_query += np.bincount(found, minlength=len(valid))
    # Structurally identical works (codecs that differ only in their literal tables,
    # generated pages) make a near match ambiguous: like boilerplate, it is not
    # evidence of copying any one of them. Exact digests still catch exact copies.
    ambiguous = (per_query > max_works).tolist()
    for names, found, rows, scores in parts:
        works, owners = names.works, names.owners
        for q, row, score in zip(found.tolist(), rows.tolist(), scores.tolist(), strict=True):
            if not ambiguous[q]:
                match = Match(works[row], owners[row], MatchKind.NEAR, round(score, 4))
                out[valid[q]].append(match)
    for matches in out:
        matches.sort(key=lambda m: -m.score)
    return out


def excerpt_matches(
    sizes: Sequence[int], parts: Iterable[tuple[Names, Evidence]], least: int
) -> list[list[Match]]:
    """Per stream (``sizes``: how many excerpt hashes each has), its excerpt matches
    strongest first: each row holding at least ``least`` of the stream's hashes."""
    out: list[list[Match]] = [[] for _ in sizes]
    for names, (row_cuts, rows, counts, first, starts, ends) in parts:
        spans = list(zip(starts.tolist(), ends.tolist(), strict=True))
        where, hits, row_of = first.tolist(), counts.tolist(), rows.tolist()
        cut = row_cuts.tolist()
        # Bound once: this builds every excerpt match of a chunk.
        works, owners, kind = names.works, names.owners, MatchKind.EXCERPT
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


def image_matches(
    by_hash: Iterable[tuple[Names, Sequence[tuple[int, float]]]],
    by_keypoints: Iterable[tuple[Names, Sequence[tuple[int, float]]]],
) -> list[Match]:
    """Image matches from (row, score) hits: by PDQ hash, then by keypoints, each
    strongest first."""
    found = []
    for parts in (by_hash, by_keypoints):
        matches = [
            Match(names.works[row], names.owners[row], MatchKind.IMAGE, score)
            for names, hits in parts
            for row, score in hits
        ]
        matches.sort(key=lambda m: -m.score)
        found += matches
    return found


class Matcher(ABC):
    """The lookups an index answers, given how it finds each kind of evidence."""

    @abstractmethod
    def _exact(self, digests: Sequence[bytes]) -> list[list[Match]]:
        """Per digest, its exact matches."""

    @abstractmethod
    def _near(self, signatures: Sequence[npt.NDArray[np.uint32]]) -> list[list[Match]]:
        """Per signature, its near matches strongest first."""

    @abstractmethod
    def _excerpts(self, queries: Sequence[ExcerptFingerprints]) -> list[list[Match]]:
        """Per stream's excerpt fingerprints, its excerpt matches strongest first."""

    @abstractmethod
    def _images(self, hashes: Sequence[bytes], keypoints: Sequence[bytes] = ()) -> list[Match]:
        """PDQ matches, then keypoint matches, each strongest first."""

    def _images_many(
        self, queries: Sequence[tuple[Sequence[bytes], Sequence[bytes]]]
    ) -> list[list[Match]]:
        """``_images`` for each image's ``(hashes, keypoints)``; an index whose lookups
        cost a round trip asks them together."""
        return [self._images(hashes, keypoints) for hashes, keypoints in queries]

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
        return self.match_images([(item, pdq_variants, keypoints)])[0]

    def match_images(
        self, queries: Sequence[tuple[ContentFingerprint, Sequence[bytes], Sequence[bytes]]]
    ) -> list[list[Match]]:
        """``match`` for each ``(item, pdq_variants, keypoints)``, looked up together:
        each kind of lookup one batch for all of them, where an index whose shards are
        held elsewhere would pay a round trip per kind per item."""
        prints = [StreamPrints.from_stored(i.digest, i.minhash, i.excerpts) for i, _, _ in queries]
        images = self._images_many(
            [([h for h in (i.pdq, *variants) if h], points) for i, variants, points in queries]
        )
        return [
            strongest([*found, *pictured])
            for found, pictured in zip(self._streams(prints), images, strict=True)
        ]

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
        lookup is one batch for every stream of every item, where one item at a time
        pays a call (and its Python around it) per stream."""
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
