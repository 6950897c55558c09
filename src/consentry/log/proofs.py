"""Merkle audit paths and consistency proofs (RFC 9162 §2.1.3 and §2.1.4): built from a
tree that keeps every complete subtree hash, verified with nothing but hashes.

Verification follows RFC 9162 §2.1.3.2 and §2.1.4.2 step by step, with every hash
checked to be 32 bytes first (without that check a one-entry tree "proves" an empty leaf
against an empty root) and the trivial cases handled before the loop.
"""

from __future__ import annotations

from collections.abc import Sequence

from consentry.errors import VerificationError
from consentry.log.tree import EMPTY_ROOT, node_hash

__all__ = ["MerkleTree", "verify_consistency", "verify_inclusion"]

_HASH = 32


def _largest_power_of_two_below(n: int) -> int:
    """The k of RFC 9162: the largest power of two smaller than ``n`` (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


class MerkleTree:
    """An append-only tree over leaf hashes, keeping each level's complete subtrees
    (32 bytes each, about 64 bytes per leaf in all), so that any root, audit path or
    consistency proof for any size up to the current one costs O(log² n) hashes."""

    def __init__(self, leaf_hashes: Sequence[bytes] = ()) -> None:
        self._levels: list[bytearray] = [bytearray()]
        self._size = 0
        for leaf in leaf_hashes:
            self.append(leaf)

    @property
    def size(self) -> int:
        return self._size

    def append(self, leaf: bytes) -> int:
        """Add a leaf hash; returns its index."""
        if len(leaf) != _HASH:
            raise ValueError("a leaf hash is 32 bytes")
        index = self._size
        self._levels[0] += leaf
        self._size += 1
        level, position = 0, index
        # Every subtree this leaf completes gets its hash, bottom up.
        while position % 2 == 1:
            below = self._levels[level]
            parent = node_hash(
                bytes(below[(position - 1) * _HASH : position * _HASH]),
                bytes(below[position * _HASH : (position + 1) * _HASH]),
            )
            level += 1
            if len(self._levels) == level:
                self._levels.append(bytearray())
            self._levels[level] += parent
            position //= 2
        return index

    def leaf(self, index: int) -> bytes:
        return self._subtree(0, index)

    def level_hashes(self, level: int, start: int, end: int) -> bytes:
        """The complete subtree hashes of height ``level`` numbered ``start`` to
        ``end - 1``, concatenated (a tile's contents)."""
        if not 0 <= start <= end or end << level > self._size:
            raise ValueError(f"level {level} of a tree of {self._size} has no nodes {start}..{end}")
        return bytes(self._levels[level][start * _HASH : end * _HASH])

    def _subtree(self, level: int, index: int) -> bytes:
        start = index * _HASH
        return bytes(self._levels[level][start : start + _HASH])

    def _range_root(self, start: int, end: int) -> bytes:
        """MTH(D[start:end]) for a range the RFC's recursion produces: ``start`` is a
        multiple of the range's largest complete subtree, so the range is complete
        subtrees of decreasing size, merged right to left."""
        if end == start:
            return EMPTY_ROOT
        pieces = []
        position = start
        while position < end:
            size = 1 << ((end - position).bit_length() - 1)
            while position % size:
                size //= 2
            pieces.append(self._subtree(size.bit_length() - 1, position // size))
            position += size
        root = pieces.pop()
        while pieces:
            root = node_hash(pieces.pop(), root)
        return root

    def root(self, size: int | None = None) -> bytes:
        """The root of the first ``size`` leaves (default: all)."""
        size = self._size if size is None else size
        self._check_size(size)
        return self._range_root(0, size)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """PATH(index, D[0:size]) of RFC 9162 §2.1.3.1."""
        size = self._size if size is None else size
        self._check_size(size)
        if not 0 <= index < size:
            raise ValueError(f"leaf {index} is not in a tree of {size}")
        proof: list[bytes] = []
        start, end = 0, size
        # Walk down from the root, collecting the sibling of each subtree the leaf is
        # in; the proof lists them leaf upwards.
        while end - start > 1:
            k = _largest_power_of_two_below(end - start)
            if index < start + k:
                proof.append(self._range_root(start + k, end))
                end = start + k
            else:
                proof.append(self._range_root(start, start + k))
                start += k
        proof.reverse()
        return proof

    def consistency_proof(self, first: int, second: int | None = None) -> list[bytes]:
        """PROOF(first, D[0:second]) of RFC 9162 §2.1.4.1."""
        second = self._size if second is None else second
        self._check_size(second)
        if not 0 < first <= second:
            raise ValueError(f"no consistency proof from size {first} to {second}")
        proof: list[bytes] = []
        start, end, whole = 0, second, True
        m = first
        while m != end - start:
            k = _largest_power_of_two_below(end - start)
            if m <= k:
                proof.append(self._range_root(start + k, end))
                end = start + k
            else:
                proof.append(self._range_root(start, start + k))
                start += k
                m -= k
                whole = False
        if not whole:
            proof.append(self._range_root(start, end))
        proof.reverse()
        return proof

    def _check_size(self, size: int) -> None:
        if not 0 <= size <= self._size:
            raise ValueError(f"the tree has {self._size} leaves, not {size}")


def _check_hashes(**named: bytes | Sequence[bytes]) -> None:
    for name, value in named.items():
        values = [value] if isinstance(value, bytes) else list(value)
        for number, one in enumerate(values):
            if len(one) != _HASH:
                where = name if isinstance(value, bytes) else f"{name}[{number}]"
                raise VerificationError(
                    f"{where} is {len(one)} bytes; every hash in a proof is 32 bytes"
                )


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """Raise ``VerificationError`` unless ``proof`` shows leaf hash ``leaf`` at
    ``index`` in the tree of ``size`` leaves with ``root`` (RFC 9162 §2.1.3.2)."""
    _check_hashes(leaf=leaf, root=root, proof=proof)
    if not 0 <= index < size:
        raise VerificationError(f"leaf index {index} is not below the tree size {size}")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise VerificationError(
                f"inclusion proof for leaf {index} of {size} has {len(proof)} hashes: too many"
            )
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise VerificationError(
            f"inclusion proof for leaf {index} of {size} has {len(proof)} hashes: too few"
        )
    if r != root:
        raise VerificationError(
            f"inclusion proof for leaf {index} of {size} leads to root {r.hex()}, "
            f"expected {root.hex()}"
        )


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> None:
    """Raise ``VerificationError`` unless ``proof`` shows the tree of ``second`` leaves
    with ``second_root`` extends the one of ``first`` leaves with ``first_root``
    (RFC 9162 §2.1.4.2)."""
    if first == 0:
        # Anything extends the empty tree; a proof from it proves nothing.
        raise VerificationError("a consistency proof needs a first tree of at least one leaf")
    if first == second:
        # Nothing to compute: the roots are compared (the transparency-dev vectors accept
        # this whatever the roots' length).
        if proof:
            raise VerificationError("trees of equal size need an empty consistency proof")
        if first_root != second_root:
            raise VerificationError(
                f"two trees of size {first} have different roots "
                f"{first_root.hex()} and {second_root.hex()}"
            )
        return
    _check_hashes(first_root=first_root, second_root=second_root, proof=proof)
    if first > second:
        raise VerificationError(f"a tree of {second} cannot extend one of {first}")
    if not proof:
        raise VerificationError(f"empty consistency proof from size {first} to {second}")
    fr, sr = _consistency_roots(first, second, first_root, proof)
    if fr != first_root:
        raise VerificationError(
            f"consistency proof gives root {fr.hex()} for size {first}, expected {first_root.hex()}"
        )
    if sr != second_root:
        raise VerificationError(
            f"consistency proof gives root {sr.hex()} for size {second}, "
            f"expected {second_root.hex()}"
        )


def _consistency_roots(
    first: int, second: int, first_root: bytes, proof: Sequence[bytes]
) -> tuple[bytes, bytes]:
    """The two roots a consistency proof implies (RFC 9162 §2.1.4.2, steps 2 to 6)."""
    path = list(proof)
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise VerificationError(
                f"consistency proof from {first} to {second} has too many hashes"
            )
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise VerificationError(f"consistency proof from {first} to {second} has too few hashes")
    return fr, sr
