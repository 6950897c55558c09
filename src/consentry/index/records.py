"""What goes into the index and what comes out of a lookup."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from consentry._records import quick_init

__all__ = ["IndexedWork", "Match", "MatchKind", "strongest"]


class MatchKind(StrEnum):
    EXACT = "exact"
    NEAR = "near"
    EXCERPT = "excerpt"
    IMAGE = "image"


@dataclass(frozen=True, slots=True)
class IndexedWork:
    """A registered work as the index needs it: identity and fingerprints, no content."""

    work_id: str
    owner_id: str
    kind: str
    digest: str
    minhash: bytes = b""
    excerpts: bytes = b""
    pdq: bytes | None = None
    # ORB keypoints (``consentry.fingerprint.keypoints.Keypoints.to_bytes``), which a
    # cropped copy keeps; empty for works registered without them.
    keypoints: bytes = b""
    # A code work's plain-text view (see ``TextView``), indexed as a second row.
    text_digest: str | None = None
    text_minhash: bytes = b""
    text_excerpts: bytes = b""


@quick_init
@dataclass(frozen=True, slots=True)
class Match:
    """Evidence that an item reproduces a registered work.

    ``score`` is 1.0 for exact copies, the estimated Jaccard similarity for near
    duplicates, the share of the item's fingerprints that hit the work for excerpts, and
    ``1 - distance/256`` for images matched by PDQ, and for images matched by keypoints
    the share of the item's keypoints that one transform maps onto the work's.
    ``spans`` are ``[start, end)`` offsets in the
    item's fingerprinted (normalised) stream.
    """

    work_id: str
    owner_id: str
    kind: MatchKind
    score: float
    spans: tuple[tuple[int, int], ...] = ()


def strongest(matches: Iterable[Match]) -> list[Match]:
    """One match per work: the first found, in the order exact, near, excerpt, image."""
    found: dict[str, Match] = {}
    for match in matches:
        found.setdefault(match.work_id, match)
    return list(found.values())
