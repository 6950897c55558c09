"""Ed25519 key pairs and public keys, with stable key ids."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nacl.bindings import crypto_sign_open
from nacl.exceptions import BadSignatureError
from nacl.exceptions import ValueError as SodiumValueError

from consentry.errors import InputError, KeyStoreError, VerificationError

__all__ = ["KeyPair", "PublicKey"]

_RAW = serialization.Encoding.Raw
_RAW_PUB = serialization.PublicFormat.Raw


@dataclass(frozen=True, slots=True)
class PublicKey:
    """An Ed25519 public key: 32 raw bytes."""

    raw: bytes

    def __post_init__(self) -> None:
        if len(self.raw) != 32:
            raise InputError(f"an Ed25519 public key is 32 bytes, got {len(self.raw)}")

    @classmethod
    def from_hex(cls, text: str) -> PublicKey:
        """Parse a hex-encoded public key; raises ``InputError`` when it is not one."""
        try:
            return cls(bytes.fromhex(text))
        except ValueError as exc:
            raise InputError(f"public key {text!r} is not hex") from exc

    @property
    def hex(self) -> str:
        return self.raw.hex()

    @property
    def key_id(self) -> str:
        """First 8 bytes of SHA-256 over the raw key, hex: short, stable, collision-safe
        among one registry's keys."""
        return hashlib.sha256(self.raw).digest()[:8].hex()

    def verify(self, signature: bytes, message: bytes) -> None:
        """Raise ``VerificationError`` unless ``signature`` is this key's over ``message``.

        Verified by libsodium: twice as fast as OpenSSL's Ed25519 here, and a gate
        verifies every work record it reads. Signing stays with ``cryptography``; an
        Ed25519 signature is the same whichever library checks it."""
        if len(signature) != 64:
            raise VerificationError(
                f"signature does not verify: it is {len(signature)} bytes, not 64 "
                f"(expected a signature by key {self.key_id})"
            )
        try:
            crypto_sign_open(signature + message, self.raw)
        except (BadSignatureError, SodiumValueError) as exc:
            raise VerificationError(
                f"signature does not verify: expected a signature by key {self.key_id}"
            ) from exc


class KeyPair:
    """An Ed25519 private key with its public half. Never printed, never serialised
    except by a ``KeyStore`` into a file only its owner can read."""

    __slots__ = ("_private", "public")

    def __init__(self, private: Ed25519PrivateKey) -> None:
        self._private = private
        self.public = PublicKey(private.public_key().public_bytes(_RAW, _RAW_PUB))

    @classmethod
    def generate(cls) -> KeyPair:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_pem(cls, data: bytes, *, source: str) -> KeyPair:
        """Load a PKCS#8 PEM private key; ``source`` names the file in errors."""
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError) as exc:
            raise KeyStoreError(
                f"{source} is not an unencrypted PKCS#8 private key; restore it from backup"
            ) from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise KeyStoreError(f"{source} holds a {type(key).__name__}, not an Ed25519 key")
        return cls(key)

    def to_pem(self) -> bytes:
        return self._private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def sign(self, message: bytes) -> bytes:
        return self._private.sign(message)

    def __repr__(self) -> str:
        # The private half must never reach a log or a traceback.
        return f"KeyPair(public={self.public.key_id})"
