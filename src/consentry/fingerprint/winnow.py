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

from consentry.fingerprint._rolling import U64Array, codepoints, kgram_hashes

__all__ = ["ExcerptFingerprints", "WinnowParams", "excerpt_fingerprints", "winnow"]

_MAX_U64 = np.iinfo(np.uint64).max


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


def _sliding(values: U64Array, width: int, *, take_min: bool) -> U64Array:
    """Min (or max) of every run of ``width`` values in O(n): van Herk / Gil-Werman,
    block prefix and suffix scans, all inside numpy."""
    n = len(values)
    blocks = -(-n // width)
    pad = _MAX_U64 if take_min else 0
    padded = np.full(blocks * width, pad, dtype=np.uint64)
    padded[:n] = values
    grid = padded.reshape(blocks, width)
    ufunc = np.minimum if take_min else np.maximum
    prefix = ufunc.accumulate(grid, axis=1).ravel()
    suffix = ufunc.accumulate(grid[:, ::-1], axis=1)[:, ::-1].ravel()
    count = n - width + 1
    result: U64Array = ufunc(suffix[:count], prefix[width - 1 : width - 1 + count])
    return result


def winnow(hashes: U64Array, window: int) -> npt.NDArray[np.int64]:
    """Positions selected by winnowing ``hashes`` with windows of ``window`` hashes.

    A position is selected when its hash is the minimum of some window containing it.
    Fewer hashes than one window: the minimum of what there is.
    """
    n = len(hashes)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if n <= window:
        return np.flatnonzero(hashes == hashes.min())
    window_min = _sliding(hashes, window, take_min=True)
    # Position i lies in windows max(0, i-w+1)..min(i, n-w); it is some window's minimum
    # exactly when its hash equals the largest of those windows' minima.
    padded = np.concatenate(
        [
            np.zeros(window - 1, dtype=np.uint64),
            window_min,
            np.zeros(window - 1, dtype=np.uint64),
        ]
    )
    covering_max = _sliding(padded, window, take_min=False)
    return np.flatnonzero(hashes == covering_max)


def excerpt_fingerprints(stream: str, params: WinnowParams) -> ExcerptFingerprints:
    """Winnowed fingerprints of an already-normalised ``stream``."""
    hashes = kgram_hashes(codepoints(stream), params.noise)
    positions = winnow(hashes, params.window)
    return ExcerptFingerprints(
        hashes=hashes[positions], offsets=positions.astype(np.uint32, copy=False)
    )
