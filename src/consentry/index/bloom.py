"""A Bloom filter over 64-bit hashes, vectorised: most excerpt lookups stop here.

Probe positions come from double hashing (Kirsch and Mitzenmacher): ``h1 + i * h2``
for i in 0..k-1, with h1 and h2 the two 32-bit halves of an already well-mixed hash.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from consentry.index import _kernels

__all__ = ["BloomFilter"]

U64 = npt.NDArray[np.uint64]


@dataclass(frozen=True, slots=True)
class BloomFilter:
    bits: U64
    probes: int

    @classmethod
    def build(cls, hashes: U64, *, false_positive_rate: float = 0.01) -> BloomFilter:
        """A filter sized for ``len(hashes)`` members at the given false-positive rate."""
        n = max(1, len(hashes))
        m = max(64, int(-n * math.log(false_positive_rate) / math.log(2) ** 2))
        words = -(-m // 64)
        probes = max(1, round(words * 64 / n * math.log(2)))
        bits = np.zeros(words, dtype=np.uint64)
        positions = cls._positions(hashes, words * 64, probes).ravel()
        np.bitwise_or.at(bits, positions >> 6, np.uint64(1) << (positions & np.uint64(63)))
        return cls(bits, probes)

    @staticmethod
    def _positions(hashes: U64, m: int, probes: int) -> U64:
        low = hashes & np.uint64(0xFFFFFFFF)
        high = (hashes >> np.uint64(32)) | np.uint64(1)
        steps = np.arange(probes, dtype=np.uint64)
        with np.errstate(over="ignore"):
            return (low[:, None] + steps[None, :] * high[:, None]) % np.uint64(m)

    def might_contain(self, hashes: U64) -> npt.NDArray[np.bool_]:
        """False means certainly absent; True means present or a false positive."""
        found: npt.NDArray[np.bool_] = _kernels.bloom_contains(
            np.asarray(self.bits), self.probes, np.asarray(hashes, dtype=np.uint64)
        )
        return found
