"""k-gram hashing over Unicode code points.

A polynomial rolling hash modulo 2**64 gives every k-gram's hash in one pass, then a
64-bit finaliser (MurmurHash3 fmix64) spreads the bits; the loop runs as machine code
(``_native``). ASCII text may be passed as bytes: the hashes are the same.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from consentry.fingerprint import _native

__all__ = ["CodePoints", "U64Array", "codepoints", "kgram_hashes"]

U64Array = npt.NDArray[np.uint64]
CodePoints = npt.NDArray[np.uint32] | npt.NDArray[np.uint8]


def codepoints(text: str) -> CodePoints:
    """The code points of ``text``: one byte each for ASCII text, else one uint32."""
    if text.isascii():
        return np.frombuffer(text.encode("ascii"), dtype=np.uint8)
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)


def kgram_hashes(cps: CodePoints, k: int) -> U64Array:
    """Hash of every k-gram of ``cps``: ``len(cps) - k + 1`` values (none if shorter).

    Equal k-grams get equal hashes wherever they occur, in any text.
    """
    if k <= 0:
        raise ValueError("k must be positive")
    hashes: U64Array = _native.kgram_hashes(cps, k)
    return hashes
