"""MinHash signatures over character shingles: one-permutation MinHash, compiled.

Each shingle hash is placed in one of 256 bins and each bin keeps its least value
(``_native.oph_signature``); empty bins are densified. One pass over the shingles, where
256 independent permutations cost 256 multiplications per shingle: the fingerprinter
fills the bins as it hashes the shingles (``_stream.stream_prints``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from consentry.fingerprint import _native
from consentry.fingerprint._rolling import U64Array, codepoints, kgram_hashes

__all__ = ["MinHashParams", "MinHashSignature", "minhash_signatures", "shingle_hashes"]


@dataclass(frozen=True, slots=True)
class MinHashParams:
    """Permutations, seed and shingle length (in characters of the fingerprinted stream)."""

    permutations: int = 256  # bins of the one-permutation signature
    seed: int = 0x5EED
    shingle: int = 9


@dataclass(frozen=True, slots=True)
class MinHashSignature:
    """``permutations`` 32-bit bin minima; empty for a stream shorter than one shingle."""

    values: npt.NDArray[np.uint32]

    def to_bytes(self) -> bytes:
        return self.values.astype("<u4").tobytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> MinHashSignature:
        return cls(np.frombuffer(data, dtype="<u4").astype(np.uint32))

    def jaccard(self, other: MinHashSignature) -> float:
        """Estimated Jaccard similarity: the share of equal minima."""
        if len(self.values) != len(other.values) or not len(self.values):
            return 0.0
        return float(np.count_nonzero(self.values == other.values)) / len(self.values)


def shingle_hashes(stream: str, params: MinHashParams) -> U64Array:
    """Hashes of the stream's shingles, repeats included: a minimum over a multiset is
    the minimum over its set, so deduplicating (a sort, the slowest step) buys nothing."""
    return kgram_hashes(codepoints(stream), params.shingle)


def minhash_signatures(
    shingle_sets: Sequence[U64Array], params: MinHashParams
) -> list[MinHashSignature]:
    """One signature per multiset of shingle hashes (``shingle_hashes``); empty for an
    empty set."""
    return [
        MinHashSignature(_native.oph_signature(hashes, params.permutations, params.seed))
        for hashes in shingle_sets
    ]
