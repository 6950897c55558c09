"""Vectorised k-gram hashing over Unicode code points.

Polynomial prefix hashes modulo 2**64 give every k-gram's hash in O(n) numpy work with no
Python loop per character; a 64-bit finaliser (MurmurHash3 fmix64) then spreads the
bits. Long texts are processed in chunks so memory stays bounded.
"""

from __future__ import annotations

import functools

import numpy as np
import numpy.typing as npt

__all__ = ["CodePoints", "U64Array", "codepoints", "kgram_hashes"]

U64Array = npt.NDArray[np.uint64]
CodePoints = npt.NDArray[np.uint32]

_BASE = np.uint64(0x100000001B3)
_BASE_INVERSE = np.uint64(pow(0x100000001B3, -1, 2**64))
# Power tables are cached per k; 64 Ki characters keeps them near 1 MB per k per process.
_CHUNK = 1 << 16


def codepoints(text: str) -> CodePoints:
    """The code points of ``text``, one uint32 per character (widened chunk by chunk)."""
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)


@functools.cache
def _powers(n: int) -> tuple[U64Array, U64Array]:
    """BASE**i and BASE**-i for i in [0, n), modulo 2**64 (numpy wraps uint64)."""
    forward = np.full(n, _BASE, dtype=np.uint64)
    forward[0] = 1
    inverse = np.full(n, _BASE_INVERSE, dtype=np.uint64)
    inverse[0] = 1
    return np.cumprod(forward, dtype=np.uint64), np.cumprod(inverse, dtype=np.uint64)


def _fmix64(h: U64Array) -> U64Array:
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xFF51AFD7ED558CCD)
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xC4CEB9FE1A85EC53)
    return h ^ (h >> np.uint64(33))


def _chunk_hashes(chunk: CodePoints, k: int) -> U64Array:
    cps = chunk.astype(np.uint64)
    n = len(cps)
    forward, inverse = _powers(_CHUNK + k)
    # prefix[i] = sum_{t < i} (c_t + 1) * BASE**(i-1-t), computed as BASE**(i-1) times a
    # cumulative sum of (c_t + 1) * BASE**-t: a scan numpy does natively.
    scaled = np.cumsum((cps + np.uint64(1)) * inverse[:n], dtype=np.uint64)
    prefix = np.empty(n + 1, dtype=np.uint64)
    prefix[0] = 0
    prefix[1:] = forward[:n] * scaled
    grams = prefix[k:] - prefix[: n - k + 1] * forward[k]
    return _fmix64(grams)


def kgram_hashes(cps: CodePoints, k: int) -> U64Array:
    """Hash of every k-gram of ``cps``: ``len(cps) - k + 1`` values (none if shorter).

    Equal k-grams get equal hashes wherever they occur, in any text.
    """
    n = len(cps)
    if k <= 0:
        raise ValueError("k must be positive")
    if n < k:
        return np.zeros(0, dtype=np.uint64)
    with np.errstate(over="ignore"):
        if n <= _CHUNK:
            return _chunk_hashes(cps, k)
        parts = []
        for start in range(0, n - k + 1, _CHUNK):
            parts.append(_chunk_hashes(cps[start : start + _CHUNK + k - 1], k))
        return np.concatenate(parts)
