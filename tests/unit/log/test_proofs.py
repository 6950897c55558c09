"""Audit paths and consistency proofs: the transparency-dev/merkle vectors (every
happy path and every expected failure), exhaustive comparison with the recursive
definitions of RFC 9162 up to 130 leaves, and tampering properties."""

from __future__ import annotations

import base64
import functools
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consentry.errors import VerificationError
from consentry.log import leaf_hash, node_hash
from consentry.log.proofs import MerkleTree, verify_consistency, verify_inclusion
from tests.unit.log.test_tree import _recursive

VECTORS = Path(__file__).parents[2] / "vectors" / "tlog"


def _b64(value: str | None) -> bytes:
    return base64.b64decode(value or "")


def _cases(kind: str) -> list[Path]:
    return sorted((VECTORS / kind).rglob("*.json"))


@pytest.mark.parametrize("path", _cases("inclusion"), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_inclusion_vectors(path: Path) -> None:
    case = json.loads(path.read_text())
    proof = [_b64(h) for h in case["proof"] or []]
    arguments = (
        case["leafIdx"],
        case["treeSize"],
        _b64(case["leafHash"]),
        proof,
        _b64(case["root"]),
    )
    if case["wantErr"]:
        with pytest.raises(VerificationError):
            verify_inclusion(*arguments)
    else:
        verify_inclusion(*arguments)


@pytest.mark.parametrize("path", _cases("consistency"), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_consistency_vectors(path: Path) -> None:
    case = json.loads(path.read_text())
    proof = [_b64(h) for h in case["proof"] or []]
    arguments = (case["size1"], case["size2"], _b64(case["root1"]), _b64(case["root2"]), proof)
    if case["wantErr"]:
        with pytest.raises(VerificationError):
            verify_consistency(*arguments)
    else:
        verify_consistency(*arguments)


def _leaves(n: int) -> list[bytes]:
    return [leaf_hash(i.to_bytes(4, "big")) for i in range(n)]


LEAVES = _leaves(130)
TREE = MerkleTree(LEAVES)


@functools.cache
def _mth(start: int, end: int) -> bytes:
    return _recursive(LEAVES[start:end])


def _path(m: int, start: int, end: int) -> list[bytes]:
    """PATH(m, D[start:end]) exactly as RFC 9162 §2.1.3.1 defines it."""
    n = end - start
    if n == 1:
        return []
    k = 1 << ((n - 1).bit_length() - 1)
    if m < k:
        return [*_path(m, start, start + k), _mth(start + k, end)]
    return [*_path(m - k, start + k, end), _mth(start, start + k)]


def _subproof(m: int, start: int, end: int, whole: bool) -> list[bytes]:
    """SUBPROOF(m, D[start:end], b) exactly as RFC 9162 §2.1.4.1 defines it."""
    n = end - start
    if m == n:
        return [] if whole else [_mth(start, end)]
    k = 1 << ((n - 1).bit_length() - 1)
    if m <= k:
        return [*_subproof(m, start, start + k, whole), _mth(start + k, end)]
    return [*_subproof(m - k, start + k, end, False), _mth(start, start + k)]


def test_every_audit_path_up_to_130_leaves_equals_the_definition_and_verifies() -> None:
    for size in range(1, 131):
        root = TREE.root(size)
        assert root == _mth(0, size)
        for index in range(size):
            proof = TREE.inclusion_proof(index, size)
            assert proof == _path(index, 0, size)
            verify_inclusion(index, size, LEAVES[index], proof, root)


def test_every_consistency_proof_up_to_130_leaves_equals_the_definition_and_verifies() -> None:
    for second in range(1, 131):
        for first in range(1, second + 1):
            proof = TREE.consistency_proof(first, second)
            assert proof == _subproof(first, 0, second, True)
            verify_consistency(first, second, TREE.root(first), TREE.root(second), proof)


def test_regression_index_2_in_a_tree_of_3_needs_the_inner_shift() -> None:
    # Leaf 2 of 3 is the right child of the root with no sibling on its own level; a
    # verifier without the "shift while LSB(fn) is clear" step pairs it wrongly.
    proof = TREE.inclusion_proof(2, 3)
    assert proof == [node_hash(LEAVES[0], LEAVES[1])]
    verify_inclusion(2, 3, LEAVES[2], proof, TREE.root(3))
    with pytest.raises(VerificationError):
        verify_inclusion(2, 3, LEAVES[2], proof, node_hash(LEAVES[2], proof[0]))


def test_appending_one_by_one_equals_building_in_bulk() -> None:
    grown = MerkleTree()
    for number, leaf in enumerate(LEAVES, start=1):
        grown.append(leaf)
        assert grown.root() == TREE.root(number)


def _flip(value: bytes, bit: int) -> bytes:
    changed = bytearray(value)
    changed[bit // 8 % len(changed)] ^= 1 << (bit % 8)
    return bytes(changed)


@given(st.integers(1, 130), st.data())
def test_any_flipped_bit_or_other_index_in_an_inclusion_proof_is_rejected(
    size: int, data: st.DataObject
) -> None:
    index = data.draw(st.integers(0, size - 1))
    proof = TREE.inclusion_proof(index, size)
    root = TREE.root(size)
    # (A changed tree size alone can leave the path's shape unchanged: sizes are bound
    # by the signed checkpoint, not by the proof.)
    target = data.draw(st.sampled_from(["leaf", "root", "proof", "index"]))
    leaf, bit = LEAVES[index], data.draw(st.integers(0, 255))
    if target == "proof" and not proof:
        target = "leaf"
    arguments: tuple[int, int, bytes, list[bytes], bytes] = (index, size, leaf, proof, root)
    if target == "leaf":
        arguments = (index, size, _flip(leaf, bit), proof, root)
    elif target == "root":
        arguments = (index, size, leaf, proof, _flip(root, bit))
    elif target == "proof":
        at = data.draw(st.integers(0, len(proof) - 1))
        changed = [*proof[:at], _flip(proof[at], bit), *proof[at + 1 :]]
        arguments = (index, size, leaf, changed, root)
    elif target == "index":
        other = data.draw(st.integers(0, 200).filter(lambda i: i != index))
        arguments = (other, size, leaf, proof, root)
    with pytest.raises(VerificationError):
        verify_inclusion(*arguments)


@given(st.integers(2, 130), st.data())
def test_any_change_to_a_consistency_proof_is_rejected(second: int, data: st.DataObject) -> None:
    first = data.draw(st.integers(1, second - 1))
    proof = TREE.consistency_proof(first, second)
    old, new = TREE.root(first), TREE.root(second)
    bit = data.draw(st.integers(0, 255))
    target = data.draw(st.sampled_from(["old", "new", "proof", "first", "drop"]))
    arguments: tuple[int, int, bytes, bytes, list[bytes]] = (first, second, old, new, proof)
    if target == "old":
        arguments = (first, second, _flip(old, bit), new, proof)
    elif target == "new":
        arguments = (first, second, old, _flip(new, bit), proof)
    elif target == "proof":
        at = data.draw(st.integers(0, len(proof) - 1))
        changed = [*proof[:at], _flip(proof[at], bit), *proof[at + 1 :]]
        arguments = (first, second, old, new, changed)
    elif target == "first":
        other = data.draw(st.integers(1, second - 1).filter(lambda f: f != first))
        arguments = (other, second, old, new, proof)
    else:
        arguments = (first, second, old, new, proof[:-1])
    with pytest.raises(VerificationError):
        verify_consistency(*arguments)


def test_a_rewritten_history_is_caught_against_a_saved_root() -> None:
    saved_size, saved_root = 50, TREE.root(50)
    rewritten = MerkleTree([*LEAVES[:20], leaf_hash(b"rewritten"), *LEAVES[21:]])
    with pytest.raises(VerificationError, match="expected"):
        verify_consistency(
            saved_size,
            rewritten.size,
            saved_root,
            rewritten.root(),
            rewritten.consistency_proof(saved_size),
        )


def test_a_truncated_log_cannot_prove_it_extends_a_saved_root() -> None:
    with pytest.raises(VerificationError, match="cannot extend"):
        verify_consistency(100, 80, TREE.root(100), TREE.root(80), [])


def test_proof_requests_outside_the_tree_are_refused() -> None:
    with pytest.raises(ValueError, match="not in a tree"):
        TREE.inclusion_proof(130, 130)
    with pytest.raises(ValueError, match="has 130 leaves"):
        TREE.root(131)
    with pytest.raises(ValueError, match="no consistency proof"):
        TREE.consistency_proof(0, 10)
