"""Merkle Tree Hash against the RFC 6962 reference tree (transparency-dev/merkle
testdata, Apache-2.0; copied from ../shared/testdata/tlog/rfc6962-reference-tree.json)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from consentry.log import leaf_hash, node_hash, root_from_leaf_hashes

VECTORS = json.loads(
    (Path(__file__).parents[2] / "vectors" / "rfc6962-reference-tree.json").read_text()
)


def _recursive(leaves: list[bytes]) -> bytes:
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    split = 1 << ((len(leaves) - 1).bit_length() - 1)
    return node_hash(_recursive(leaves[:split]), _recursive(leaves[split:]))


def test_reference_roots_for_sizes_0_to_8() -> None:
    inputs = [bytes.fromhex(h) for h in VECTORS["leaf_inputs_hex"]]
    hashes = [leaf_hash(d) for d in inputs]
    for size, expected in VECTORS["roots_by_size_hex"].items():
        assert root_from_leaf_hashes(hashes[: int(size)]).hex() == expected


def test_hasher_known_answers() -> None:
    answers = VECTORS["hasher_known_answers_hex"]
    assert root_from_leaf_hashes([]).hex() == answers["empty_root"]
    assert leaf_hash(b"").hex() == answers["leaf('')"]
    assert leaf_hash(b"L123456").hex() == answers["leaf('L123456')"]
    assert node_hash(b"N123", b"N456").hex() == answers["node('N123','N456')"]


@given(st.lists(st.binary(max_size=8), max_size=70))
def test_bottom_up_equals_the_recursive_definition(data: list[bytes]) -> None:
    hashes = [leaf_hash(d) for d in data]
    assert root_from_leaf_hashes(hashes) == _recursive(hashes)
