"""MinHash signatures over character shingles, computed by rensa from numpy hashes.

Shingle hashes come from the vectorised k-gram hasher and go to rensa's Rust MinHash as
one flat buffer, so no Python runs per shingle. Measured on this project's machines
(bench/register.py): ~60x datasketch at the same number of permutations.
"""

from __future__ import annotations

import array
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import rensa

from consentry.fingerprint._rolling import U64Array, codepoints, kgram_hashes

__all__ = ["MinHashParams", "MinHashSignature", "minhash_signatures", "shingle_hashes"]


@dataclass(frozen=True, slots=True)
class MinHashParams:
    """Permutations, seed and shingle length (in characters of the fingerprinted stream)."""

    permutations: int = 256
    seed: int = 0x5EED
    shingle: int = 9


@dataclass(frozen=True, slots=True)
class MinHashSignature:
    """``permutations`` 32-bit minima; empty for a stream shorter than one shingle."""

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
    """One signature per shingle set, computed in one call into rensa."""
    if not shingle_sets:
        return []
    lengths = np.array([len(s) for s in shingle_sets], dtype=np.uint64)
    offsets = np.zeros(len(shingle_sets) + 1, dtype=np.uint64)
    np.cumsum(lengths, out=offsets[1:])
    flat = shingle_sets[0] if len(shingle_sets) == 1 else np.concatenate(shingle_sets)
    matrix = rensa.RMinHash.digest_matrix_from_flat_token_hashes(
        flat, offsets, params.permutations, params.seed
    )
    # Rows arrive as lists of Python ints; array("I") converts one in C, several times
    # faster than numpy does from nested lists.
    return [
        MinHashSignature(
            np.frombuffer(array.array("I", row), dtype=np.uint32)
            if length
            else np.zeros(0, dtype=np.uint32)
        )
        for row, length in zip(matrix.to_rows(), lengths.tolist(), strict=True)
    ]
