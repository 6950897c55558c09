"""The transparency log (RFC 9162). So far: the Merkle Tree Hash, audit paths and
consistency proofs with their verification."""

from consentry.log.proofs import MerkleTree, verify_consistency, verify_inclusion
from consentry.log.tree import leaf_hash, node_hash, root_from_leaf_hashes

__all__ = [
    "MerkleTree",
    "leaf_hash",
    "node_hash",
    "root_from_leaf_hashes",
    "verify_consistency",
    "verify_inclusion",
]
