"""Winnowing (Schleimer, Wilkerson and Aiken, SIGMOD 2003) over normalised text.

Two thresholds govern it:

* the **noise threshold** ``k``: hashes are taken over k-grams of ``k`` characters, so a
  shared run shorter than ``k`` is never evidence of copying;
* the **guarantee threshold** ``T``: every window of ``w = T - k + 1`` consecutive
  k-gram hashes contributes its minimum. A shared excerpt of at least ``T`` characters
  contains one whole window, whose minimum both texts select, so it is *guaranteed* to
  share a fingerprint with its source.

Ties are all selected (a superset of robust winnowing), which keeps the guarantee and
costs a few extra fingerprints only in highly repetitive text. Expected density is about
``2 / (w + 1)``: with the defaults (k = 100, T = 200) one fingerprint per ~51 characters.
A noise threshold of 100 means one shared fingerprint is 100 identical normalised
characters: a licence that reuses another's 80-character sentence is not a copy of it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from consentry._records import quick_init
from consentry.fingerprint import _native
from consentry.fingerprint._rolling import U64Array, codepoints, kgram_hashes

__all__ = ["ExcerptFingerprints", "WinnowParams", "excerpt_fingerprints", "winnow"]


@dataclass(frozen=True, slots=True)
class WinnowParams:
    """Noise threshold ``k`` and guarantee threshold ``T``, in normalised characters."""

    noise: int = 100
    guarantee: int = 200

    def __post_init__(self) -> None:
        if not 1 <= self.noise <= self.guarantee:
            raise ValueError("winnowing needs 1 <= noise threshold <= guarantee threshold")

    @property
    def window(self) -> int:
        return self.guarantee - self.noise + 1


@quick_init
@dataclass(frozen=True, slots=True)
class ExcerptFingerprints:
    """Selected k-gram hashes and the offsets (in the fingerprinted stream) they start at."""

    hashes: U64Array
    offsets: npt.NDArray[np.uint32]

    def to_bytes(self) -> bytes:
        """Little-endian hashes followed by offsets: 12 bytes per fingerprint."""
        return self.hashes.astype("<u8").tobytes() + self.offsets.astype("<u4").tobytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> ExcerptFingerprints:
        if len(data) % 12:
            raise ValueError("excerpt fingerprint blob is not a whole number of entries")
        n = len(data) // 12
        hashes = np.frombuffer(data, dtype="<u8", count=n).astype(np.uint64)
        offsets = np.frombuffer(data, dtype="<u4", offset=8 * n).astype(np.uint32)
        return cls(hashes=hashes, offsets=offsets)

    def __len__(self) -> int:
        return len(self.hashes)


def winnow(hashes: U64Array, window: int) -> npt.NDArray[np.int64]:
    """Positions selected by winnowing ``hashes`` with windows of ``window`` hashes.

    A position is selected when its hash is the minimum of some window containing it.
    Fewer hashes than one window: the minimum of what there is.
    """
    positions: npt.NDArray[np.int64] = _native.winnow_positions(hashes, window)
    return positions


def excerpt_fingerprints(stream: str, params: WinnowParams) -> ExcerptFingerprints:
    """Winnowed fingerprints of an already-normalised ``stream``."""
    hashes = kgram_hashes(codepoints(stream), params.noise)
    positions = winnow(hashes, params.window)
    return ExcerptFingerprints(
        hashes=hashes[positions], offsets=positions.astype(np.uint32, copy=False)
    )
