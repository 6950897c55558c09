"""Signed documents: canonical JSON bodies with a domain-separated Ed25519 signature.

The signed message is ``b"consentry/<kind>/v1\\n" + canonical_json(body)``. The prefix
keeps a signature made for one kind of document (a grant) from being replayed as
another (a revocation) even if their bodies happened to coincide.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from consentry.crypto.canonical import canonical_json, parse_json_object
from consentry.crypto.keys import PublicKey
from consentry.crypto.signer import Signer
from consentry.errors import VerificationError

__all__ = ["SignedEnvelope", "sign_document", "verify_document"]


@dataclass(frozen=True, slots=True)
class SignedEnvelope:
    """A document as stored: its kind, canonical body, signer key id and signature."""

    kind: str
    body: bytes
    key_id: str
    signature: bytes

    @property
    def signature_b64(self) -> str:
        return base64.b64encode(self.signature).decode("ascii")

    @classmethod
    def from_stored(
        cls, *, kind: str, body: str, key_id: str, signature_b64: str
    ) -> SignedEnvelope:
        try:
            signature = base64.b64decode(signature_b64, validate=True)
        except binascii.Error as exc:
            raise VerificationError(f"{kind} signature is not base64") from exc
        return cls(kind=kind, body=body.encode("utf-8"), key_id=key_id, signature=signature)

    def document(self) -> dict[str, Any]:
        return parse_json_object(self.body, what=f"signed {self.kind}")


def _message(kind: str, body: bytes) -> bytes:
    return f"consentry/{kind}/v1\n".encode() + body


def sign_document(kind: str, body: dict[str, Any], key: Signer) -> SignedEnvelope:
    """Canonicalise ``body`` and sign it as a document of ``kind``."""
    canonical = canonical_json(body)
    return SignedEnvelope(
        kind=kind,
        body=canonical,
        key_id=key.public.key_id,
        signature=key.sign(_message(kind, canonical)),
    )


def verify_document(envelope: SignedEnvelope, key: PublicKey) -> dict[str, Any]:
    """Verify ``envelope`` against ``key`` and return its body.

    Raises ``VerificationError`` when the key is not the one that signed, the body was
    changed after signing, or the body is not in canonical form.
    """
    if envelope.key_id != key.key_id:
        raise VerificationError(
            f"{envelope.kind} was signed by key {envelope.key_id}, expected key {key.key_id}"
        )
    key.verify(envelope.signature, _message(envelope.kind, envelope.body))
    document = envelope.document()
    if canonical_json(document) != envelope.body:
        raise VerificationError(f"{envelope.kind} body is not in RFC 8785 canonical form")
    return document
