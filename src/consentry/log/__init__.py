"""The transparency log (RFC 9162). So far: the Merkle Tree Hash."""

from consentry.log.tree import leaf_hash, node_hash, root_from_leaf_hashes

__all__ = ["leaf_hash", "node_hash", "root_from_leaf_hashes"]
