"""``Signer``: what makes a party's signatures, wherever its private key is.

Services take a signer, never a key: the CLI's signer reads the party's own key file,
a remote client's signs the same bytes on the party's machine. ``KeyPair`` is one.
"""

from __future__ import annotations

from typing import Protocol

from consentry.crypto.keys import PublicKey

__all__ = ["Signer"]


class Signer(Protocol):
    """Signs messages with one Ed25519 key whose public half it names."""

    @property
    def public(self) -> PublicKey:
        """The public key that verifies this signer's signatures."""
        ...

    def sign(self, message: bytes) -> bytes:
        """The 64-byte Ed25519 signature over ``message``."""
        ...
