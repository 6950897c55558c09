"""The transparency log (RFC 9162, C2SP). So far: the Merkle Tree Hash, audit paths and
consistency proofs with their verification, and signed notes and checkpoints."""

from consentry.log.note import (
    Checkpoint,
    NoteVerifier,
    open_checkpoint,
    open_note,
    sign_checkpoint,
    sign_note,
)
from consentry.log.proofs import MerkleTree, verify_consistency, verify_inclusion
from consentry.log.tree import leaf_hash, node_hash, root_from_leaf_hashes

__all__ = [
    "Checkpoint",
    "MerkleTree",
    "NoteVerifier",
    "leaf_hash",
    "node_hash",
    "open_checkpoint",
    "open_note",
    "root_from_leaf_hashes",
    "sign_checkpoint",
    "sign_note",
    "verify_consistency",
    "verify_inclusion",
]
