"""The transparency log (RFC 9162, C2SP). So far: the Merkle Tree Hash, audit paths and
consistency proofs with their verification, signed notes and checkpoints, tiles, and
witness cosignatures."""

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
from consentry.log.witness import Cosignature, WitnessKey, WitnessPolicy, cosign, cosignatures

__all__ = [
    "Checkpoint",
    "Cosignature",
    "MerkleTree",
    "NoteVerifier",
    "WitnessKey",
    "WitnessPolicy",
    "cosign",
    "cosignatures",
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
