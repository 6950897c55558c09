"""``Lookup``: where registered works are looked up by their fingerprints.

Two implementations answer it: ``MatchIndex``, which holds every fingerprint of every
work (the registry's, and a lab's snapshot), and ``Sketch``, the signed offline file
that holds only what is evidence of copying and nothing of the works' content.
``ShardedIndex`` is ``MatchIndex`` cut into shards by fingerprint hash, answering alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from consentry.fingerprint import StreamPrints
from consentry.index.records import Match

__all__ = ["Lookup"]


class Lookup(Protocol):
    """Which registered works an item reproduces, strongest evidence per work."""

    def match_prints(self, prints: Sequence[StreamPrints]) -> list[Match]:
        """Every work the streams (``text_prints`` gives them) reproduce: one match per
        work, exact before near before excerpt, the first stream's findings first."""
        ...

    def match_image(
        self, digest: str, hashes: Sequence[bytes], *, keypoints: Sequence[bytes] = ()
    ) -> list[Match]:
        """Registered images with pixel digest ``digest`` (hex), a PDQ hash close to
        one of ``hashes`` (an image's orientations), or keypoints that one of
        ``keypoints`` (``ImageQuery.keypoints``) maps onto in one consistent geometry."""
        ...
